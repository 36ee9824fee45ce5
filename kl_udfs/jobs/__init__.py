"""What each job does end to end (`runner`: baseline, quality gate, drift, the `runs` row).

Their spark-submit entry points are in `kl_udfs.submit`, above the command line they call.
"""
