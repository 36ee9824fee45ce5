"""The data-quality gate: Great Expectations judges each window before its drift is trusted."""
