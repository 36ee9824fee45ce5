"""The Spark layer: it reads windows, counts, joins and writes Delta tables; it decides nothing."""
