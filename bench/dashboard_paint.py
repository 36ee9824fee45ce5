"""How fast the dashboard shows a year of daily results × 200 columns, in a real browser.

Writes synthetic monitoring tables with delta-rs (no Spark; one file per daily partition, as
after daily MERGEs), starts `kldrift dashboard` on them, and opens the overview in Debian's
headless Chromium (`/usr/bin/chromium`, driven by Playwright) several times, each in a fresh
browser context (empty cache). Prints the median of each step, in ms since navigation start:

* first paint: the browser's first-contentful-paint (the page frame);
* overview shown: the KPIs and monitor cards are in the page;
* heatmap drawn: plotly has drawn the columns × windows heatmap;
* drill-down: from the click on a column to its histogram overlay being drawn.

    .venv/bin/python bench/dashboard_paint.py [--columns 200] [--days 365] [--repeat 5]
    .venv/bin/python bench/dashboard_paint.py --quick     # 50 columns × 90 days, 2 repeats
    .venv/bin/python bench/dashboard_paint.py --columns 1000 --days 1825 --tile 365
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from dashboards import schema  # noqa: E402
from dashboards.app import render  # noqa: E402
from dashboards.store import load_snapshot, source_from_monitoring  # noqa: E402
from dashboards.synthetic import SyntheticMonitor, monitor_tables, write_monitoring  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Records when each step first shows up, checked on every animation frame.
PROBE = """
(function poll() {
  const marks = window.__marks = window.__marks || {};
  const seen = (name, selector) => {
    if (!marks[name] && document.querySelector(selector)) marks[name] = performance.now();
  };
  seen('overview', '.kpis');
  seen('heatmap', '[data-monitor] .js-plotly-plot .heatmaplayer image');
  if (!marks.heatmap) requestAnimationFrame(poll);
})();
"""


def build(directory: Path, columns: int, days: int, tile: int | None = None) -> dict[str, int]:
    """The bench monitor's tables in `directory` (kept while their shape is the same). With
    `tile`, only that many days are drawn, then repeated later in time to fill `days`: what a
    read costs depends on the tables' shape (rows, files, partitions), not on the values."""
    tile = tile if tile is not None and tile < days else None
    shape = {"columns": columns, "days": days, "version": 2}  # bump when the tables change
    if tile is not None:
        shape["tile"] = tile
    stamp = directory / "_bench_shape.json"
    if stamp.exists() and json.loads(stamp.read_text()) == shape:
        return {}
    drawn = tile or days
    drifting = frozenset(f"n{i:03d}" for i in range(0, columns // 2, 25)) | frozenset(
        f"c{i:03d}" for i in range(0, columns // 2, 25))
    monitor = SyntheticMonitor("bench_daily", columns=columns, windows=drawn,
                               start=datetime(2025, 1, 1, tzinfo=UTC),
                               drift_columns=drifting, drift_from=drawn - 30,
                               rows_per_window=20_000, quality_failures=(drawn // 3,))
    if tile is None:
        counts = write_monitoring(directory, [monitor])
    else:
        tables = monitor_tables(monitor)
        counts = write_tiled(directory, tables, tile, days)
        # The drawn days alone are the <columns>x<tile> tables: keep them for that size too.
        alone = directory.parent / f"{columns}x{tile}"
        write_tiled(alone, tables, tile, tile)
        (alone / "_bench_shape.json").write_text(json.dumps(
            {"columns": columns, "days": tile, "version": 2}))
    stamp.write_text(json.dumps(shape))
    return counts


def write_tiled(directory: Path, tables: dict[str, pa.Table], tile: int,
                days: int) -> dict[str, int]:
    """`tables` (of `tile` daily windows) written again every `tile` days until `days`, one
    append per copy, partitioned as kl-drift writes them."""
    from deltalake import write_deltalake

    counts = {}
    for name, table in tables.items():
        copies = 1 if name == "baselines" else -(-days // tile)
        counts[name] = 0
        for k in range(copies):
            shifted = table
            for column in ("window_start", "window_end", "computed_at", "started_at",
                           "finished_at"):
                if column in table.column_names:
                    moved = pc.add(table[column], pa.scalar(timedelta(days=k * tile),
                                                            pa.duration("us")))
                    shifted = shifted.set_column(shifted.schema.get_field_index(column),
                                                 column, moved.cast(table[column].type))
            if k == copies - 1 and "window_start" in table.column_names:
                last = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=days)
                shifted = shifted.filter(pc.less(shifted["window_start"],
                                                 pa.scalar(last, table["window_start"].type)))
            write_deltalake(str(directory / name), shifted,
                            mode="overwrite" if k == 0 else "append",
                            partition_by=schema.PARTITIONS[name],
                            schema_mode="overwrite" if k == 0 else None)
            counts[name] += shifted.num_rows
    return counts


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The process' peak resident memory so far (Linux: VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def dashboard(source: list[str]) -> Iterator[tuple[str, float, int]]:
    """`kldrift dashboard` on `source` (["--monitoring", DIR] or ["--config", FILE]): its URL
    once it answers, the seconds that took, and its process id."""
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kl_udfs.cli", "dashboard", *source,
                             "--port", str(port), "--refresh", "0"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                error = proc.stderr.read() if proc.stderr else ""
                raise SystemExit(f"the dashboard exited: {error}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url, time.perf_counter() - began, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def visit(browser: Any, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(PROBE)
    page.goto(url)
    page.wait_for_function("window.__marks && window.__marks.heatmap", timeout=60_000)
    marks = page.evaluate("window.__marks")
    paint = page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0]"
                          " || {}).startTime")
    link = page.locator("tr[data-status=drift] a.column-link").first
    clicked = page.evaluate("performance.now()")
    link.click()
    # the first bar may be an empty bin (zero height, hidden): wait for one that shows
    page.locator("#overlay .barlayer .point >> visible=true").first.wait_for(timeout=60_000)
    opened = page.evaluate("performance.now()")
    context.close()
    return {"first paint": paint, "overview shown": marks["overview"],
            "heatmap drawn": marks["heatmap"], "drill-down": opened - clicked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="50 columns, 90 days, 2 repeats")
    parser.add_argument("--tile", type=int, default=None,
                        help="draw only this many days and repeat them to fill --days")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".cache" / "bench-dashboard")
    parser.add_argument("--out", type=Path, default=None,
                        help="where dashboard_paint_<columns>x<days>.md goes (default "
                             "docs/bench, bench/results with --quick)")
    args = parser.parse_args()
    if args.quick:
        args.columns, args.days, args.repeat = 50, 90, 2
    if args.out is None:
        args.out = ROOT / ("bench/results" if args.quick else "docs/bench")
    if not Path(CHROMIUM).exists():
        raise SystemExit("no /usr/bin/chromium: run 'bash infra/bootstrap.sh --browser'")
    directory = args.data_dir / f"{args.columns}x{args.days}"
    written = build(directory, args.columns, args.days, args.tile)
    if written:
        print(f"wrote {written['drift_results']:,} drift rows and {written['profiles']:,} "
              f"profiles to {directory}")

    loads, overviews, columns = [], [], []
    for _ in range(args.repeat):  # a fresh snapshot each time: nothing read before
        began = time.perf_counter()
        snap = load_snapshot(source_from_monitoring(directory))
        loads.append(time.perf_counter() - began)
        began = time.perf_counter()
        render(snap, "")
        overviews.append(time.perf_counter() - began)
        began = time.perf_counter()
        render(snap, "?monitor=bench_daily&column=n000")
        columns.append(time.perf_counter() - began)
        del snap
    from playwright.sync_api import sync_playwright

    with dashboard(["--monitoring", str(directory)]) as (url, ready, pid), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        visit(browser, url)  # warm-up: the server's first requests, the OS file cache
        visits = [visit(browser, url) for _ in range(args.repeat)]
        browser.close()
        peak = peak_rss_mb(pid)

    load = os.getloadavg()[0]
    lines = [
        f"# dashboard paint: {args.columns} columns × {args.days} daily windows "
        f"({args.columns * args.days:,} drift rows)",
        "",
        f"{platform.node()}, {os.cpu_count()} cores, load average {load:.2f} at the end, "
        f"Chromium headless, {args.repeat} visits in fresh contexts (empty cache), median.",
        "",
        "| step | median ms | min ms | max ms |",
        "|---|---|---|---|",
        f"| load a snapshot of the tables (`load_snapshot`) | "
        f"{1000 * statistics.median(loads):.0f} | {1000 * min(loads):.0f} | "
        f"{1000 * max(loads):.0f} |",
        f"| server start to first answer (import + snapshot) | {1000 * ready:.0f} | | |",
        *(f"| {what} | {1000 * statistics.median(values):.0f} | {1000 * min(values):.0f} | "
          f"{1000 * max(values):.0f} |" for what, values in (
              ("server builds the overview, first request of a snapshot", overviews),
              ("server builds a column page, first request for it", columns))),
    ]
    for step in ("first paint", "overview shown", "heatmap drawn", "drill-down"):
        values = [v[step] for v in visits]
        lines.append(f"| {step} | {statistics.median(values):.0f} | {min(values):.0f} | "
                     f"{max(values):.0f} |")
    lines += ["", f"Peak memory of the server process (VmHWM) after the visits: {peak:,.0f} MB."]
    report = "\n".join(lines)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"dashboard_paint_{args.columns}x{args.days}.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
