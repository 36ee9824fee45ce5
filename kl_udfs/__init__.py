"""kl-drift: exact per-column KL drift monitoring for Delta Lake tables."""

__version__ = "0.1.0"
