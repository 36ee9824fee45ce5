"""The monitoring tables read without a JVM (delta-rs): slices of them, by predicate."""
