"""What each job does end to end (`runner`: baseline, quality gate, drift, the `runs` row)."""
