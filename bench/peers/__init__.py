"""kl-drift against its peers on the same data: see bench/README.md (make bench-peers)."""
