"""DuckDB's histograms of every column in one SQL query (runs in its own virtualenv).

Reads a JSON spec on stdin: {"parquet": dir, "threads": n, "columns": [{"name", "kind",
"edges", "categories", "temporal", "null_index", "n_bins"}]}, and prints one JSON line:
{"seconds", "peak_rss_mib", "counts": [[...] per column]}. Imports only duckdb and the
standard library: it must not see kl-drift.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from peer_io import peak_rss_mib


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bin_expression(column: dict[str, Any]) -> str:
    """The bin index of a value, with kl-drift's layout: value bins, then "other" (and
    "unseen" where `seen` lists the values beyond the top K that count as seen), then null."""
    name, null = _quote(column["name"]), column["null_index"]
    if column["kind"] == "categorical":
        value = f"CAST({name} AS VARCHAR)"
        arms = " ".join(f"WHEN {value} = {_literal(c)} THEN {i}"
                        for i, c in enumerate(column["categories"]))
        other = len(column["categories"])
        if column.get("seen") is not None:
            seen = ", ".join(_literal(v) for v in column["seen"]) or "NULL"
            arms += f" WHEN {value} IN ({seen}) THEN {other}"
            other += 1
        return f"CASE WHEN {name} IS NULL THEN {null} {arms} ELSE {other} END"
    # numbers: timestamps as seconds since the epoch, like Spark's cast to double
    value = f"(epoch_us({name}) / 1000000.0)" if column["temporal"] else f"CAST({name} AS DOUBLE)"
    arms = " ".join(f"WHEN {value} < {edge!r} THEN {i}" for i, edge in enumerate(column["edges"]))
    last = len(column["edges"])
    return (f"CASE WHEN {name} IS NULL OR isnan({value}) THEN {null} {arms} ELSE {last} END"
            if arms else f"CASE WHEN {name} IS NULL OR isnan({value}) THEN {null} ELSE 0 END")


def query(spec: dict[str, Any]) -> str:
    binned = ", ".join(f"{bin_expression(c)} AS b{i}" for i, c in enumerate(spec["columns"]))
    listed = ", ".join(f"b{i}" for i in range(len(spec["columns"])))
    source = f"read_parquet({_literal(spec['parquet'] + '/*.parquet')})"
    return (f"SELECT column_idx, bin, count(*) AS n FROM (SELECT {binned} FROM {source}) "
            f"UNPIVOT (bin FOR column_idx IN ({listed})) GROUP BY ALL")



def main() -> None:
    import duckdb

    spec = json.load(sys.stdin)
    connection = duckdb.connect()
    connection.execute(f"SET threads = {int(spec['threads'])}")
    started = time.perf_counter()
    rows = connection.execute(query(spec)).fetchall()
    seconds = time.perf_counter() - started
    counts = [[0] * c["n_bins"] for c in spec["columns"]]
    for column, bin_index, n in rows:
        counts[int(column[1:])][int(bin_index)] = int(n)
    peak = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak, "counts": counts}))


if __name__ == "__main__":
    main()
