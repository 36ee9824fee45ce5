"""The contract, the config and every decision: pure Python, numpy and pandas, no Spark.

`contract` defines the statuses, rules and table columns once; `stats` holds the statistics;
`udfs` turns count arrays into figures and `verdict` turns figures into statuses.
"""
