"""SQL over the monitoring tables: ready queries, the local SQL command and the SQL server."""
