"""spark-submit entry points, one file per job: each hands its arguments to the `kldrift` command.

They sit above the command line (which they call), so they are the package's top layer; the
generated DAGs submit these files from wherever the package is installed.
"""
