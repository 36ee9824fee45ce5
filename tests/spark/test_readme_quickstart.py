"""The README's five steps on a table of one's own, run as its lines are written: validate,
baseline, backfill, status and the dashboard (in Chromium), in a folder holding only
`monitors.yaml` and the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dashboard.conftest import CHROMIUM, drifting_columns_in_chromium, running_dashboard
from tests.unit.test_cli import readme_command, run_cli

pytestmark = pytest.mark.spark

# The README's config, with local paths for its s3:// ones (a test below holds them equal).
CONFIG = """\
monitoring: {path: ./lakehouse/monitoring}
monitors:
  - name: card_transactions
    table: ./lakehouse/raw/card_transactions
    timestamp_column: event_time
    window: 1 day
    baseline: {start: 2026-01-01, end: 2026-01-31}
    exclude_columns: [transaction_id]
"""
BASELINE = "kldrift baseline --config monitors.yaml --monitor card_transactions"
BACKFILL = ("kldrift backfill --config monitors.yaml --monitor card_transactions "
            "--start 2026-02-01 --end 2026-04-01")
DASHBOARD = "kldrift dashboard --config monitors.yaml"


def test_the_readme_quickstart_finds_the_planted_drift(
        spark, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kl_udfs.demo import data
    from kl_udfs.demo.tables import write_delta

    # amount and channel drift from day 60 (2026-03-02) on; nothing else ever does
    write_delta(spark, data.card_transactions(days=90, rows_per_day=800),
                tmp_path / "lakehouse" / "raw" / "card_transactions")
    (tmp_path / "monitors.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)

    assert run_cli(capsys, readme_command("kldrift validate --config monitors.yaml"))[0] == 0
    code, out, err = run_cli(capsys, readme_command(BASELINE))
    assert code == 0, err
    code, out, err = run_cli(capsys, readme_command(BACKFILL))
    assert code == 0, err
    code, out, err = run_cli(
        capsys, readme_command("kldrift status   --config monitors.yaml --format json"))
    assert code == 0, err
    latest = {r["column"]: r for r in json.loads(out)}
    assert latest["amount"]["window_start"] == "2026-03-31T00:00:00"  # the backfill's last
    assert {c for c, r in latest.items() if r["status"] == "drift"} == {"amount", "channel"}

    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run 'bash infra/bootstrap.sh --browser'")
    with running_dashboard(readme_command(DASHBOARD)[1:], cwd=tmp_path) as url:
        assert drifting_columns_in_chromium(url, "card_transactions",
                                            "dashboard-quickstart.png") == {"amount", "channel"}


def test_the_quickstart_config_is_the_readmes_but_for_its_paths() -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.search(r"```yaml\n(monitoring:.*?)```", readme, re.S)
    assert shown, "the README's config"
    keys = [line.split("#")[0].rstrip() for line in shown.group(1).splitlines()
            if not line.startswith("storage:")]
    ours = [re.sub(r"\./lakehouse/", "s3://lake/", line) for line in CONFIG.splitlines()]
    assert keys == ours
