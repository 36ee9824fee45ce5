"""The README's dashboard picture: the overview of a monitors config's tables, in Chromium.

    make demo && .venv/bin/python -m bench.screenshot      # writes docs/dashboard.png

It shows whatever the tables hold (the demo's by default), drawn by the real server in
Debian's headless Chromium, the browser the dashboard tests use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.dashboard_paint import CHROMIUM, ROOT, dashboard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "lakehouse" / "monitors.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    if not args.config.exists():
        raise SystemExit(f"no config at {args.config}: run `make demo` first")
    from playwright.sync_api import sync_playwright

    with dashboard(["--config", str(args.config)]) as (url, _, _), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(url)
        page.locator(".heatmaplayer image").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)  # the heatmap's fade-in
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
