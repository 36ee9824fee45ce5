"""The `kldrift sql` and `kldrift sql-server` commands (argument handling only)."""

from __future__ import annotations

import argparse
import sys

from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.output import format_json
from kl_udfs.core.storage import ObjectStorage, is_object_store
from kl_udfs.sql.queries import Query, load_query, parse_query, parse_vars, ready_queries


def monitoring_location(
        args: argparse.Namespace) -> tuple[str, str, str | None, ObjectStorage | None]:
    """(monitoring path, database, configured Spark master, object storage) from
    --monitoring or --config; an s3:// --monitoring path is AWS's, keys from the environment."""
    if args.monitoring:
        storage = ObjectStorage() if is_object_store(args.monitoring) else None
        return args.monitoring, "monitoring", None, storage
    from kl_udfs.core.config import load_config

    if not args.config.exists():
        raise KlDriftError(f"no config at {args.config}: run `make demo` first, or pass "
                           f"--config FILE or --monitoring PATH")
    config = load_config(args.config)
    return (config.monitoring.path, config.monitoring.database, config.spark.master,
            config.object_storage())


def _query(args: argparse.Namespace) -> tuple[Query, str]:
    given = [name for name in ("query", "file", "ready") if getattr(args, name)]
    if len(given) != 1:
        raise KlDriftError("give exactly one of: a query, --file FILE, --ready NAME")
    if args.file:
        return load_query(args.file), str(args.file)
    if args.ready:
        ready = ready_queries()
        if args.ready not in ready:
            raise KlDriftError(f"no ready query '{args.ready}' (known: {', '.join(ready)})")
        return load_query(ready[args.ready]), args.ready
    return parse_query(args.query), "query"


def run_sql_command(args: argparse.Namespace) -> int:
    from kl_udfs.sql import thrift_server

    if args.command == "sql-server":
        if args.stop:
            pid = thrift_server.stop(args.run_dir)
            print(f"SQL server (pid {pid}) stopped" if pid else "no SQL server was running")
            return 0
        if args.status:
            running = thrift_server.status(args.run_dir)
            print(f"SQL server running: pid {running[0]}, {thrift_server.jdbc_url(running[1])}"
                  if running else "no SQL server is running")
            return 0 if running else 1
        root, database, master, storage = monitoring_location(args)
        server = thrift_server.start(root, database, args.port,
                                     args.master or master or "local[2]", args.run_dir,
                                     storage=storage)
        print(f"SQL server ready: {server.url} (pid {server.pid}); tables in `{database}`\n"
              f"  client: beeline -u {server.url}\n"
              f"  stop:   kldrift sql-server --stop   (log: {server.log})")
        return 0

    query, source = _query(args)
    text = query.render(parse_vars(args.var), source)
    root, database, master, storage = monitoring_location(args)
    from kl_udfs.spark.session import get_spark
    from kl_udfs.sql.local import render, run_sql

    spark = get_spark(args.master or master, {"spark.sql.shuffle.partitions": "4"}, storage)
    headers, rows, truncated = run_sql(spark, root, database, text, args.limit)
    if args.format == "json":
        print(format_json(headers, rows))
        if truncated:  # stdout stays one JSON document
            shown = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
            print(f"kldrift: {shown} shown, more left out: raise --limit", file=sys.stderr)
    else:
        print(render(headers, rows, truncated))
    return 0
