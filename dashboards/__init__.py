"""The kl-drift web dashboard (Dash) over the monitoring Delta tables.

Reads the tables with delta-rs (`deltalake`), so it starts without a JVM and never imports
pyspark. `kldrift dashboard` or `make dashboard` starts it.
"""
