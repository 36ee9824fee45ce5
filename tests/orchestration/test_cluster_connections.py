"""The connections infra/cluster.md documents, through the Spark provider's own hook.

No YARN or Kubernetes cluster is reachable here, so this checks the half that can be: for
each connection in the doc's table, the spark-submit command Airflow would run for the
generated drift task (master, deploy mode, queue, namespace, the shipped kl_udfs zip, the
driver's environment). The standalone row runs for real in tests/cluster. The Kubernetes row
needs the `kubernetes` extra (Airflow's Kubernetes provider) for the command; without it, the
check is that the hook refuses the master, as the doc says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.orchestration.conftest import ROOT

ZIP = "/opt/kl-drift/kl_udfs-0123abcd.zip"


def _documented() -> dict[str, dict[str, object]]:
    """{cluster: connection JSON} from the table in infra/cluster.md."""
    found = {}
    for line in (ROOT / "infra" / "cluster.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].startswith('`{"conn_type"'):
            found[cells[0]] = json.loads(cells[1].strip("`"))
    return found


def _command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             connection: dict[str, object]) -> list[str]:
    from kl_udfs.airflow.dags import build_dags

    config = tmp_path / "monitors.yaml"
    config.write_text("monitoring: {path: s3a://lake/monitoring}\nmonitors:\n"
                      "  - {name: cards, table: s3a://lake/raw/cards, timestamp_column: ts,\n"
                      "     baseline: {start: 2026-01-01, end: 2026-01-31}}\n")
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("KLDRIFT_PY_FILES", ZIP)
    task = build_dags(config)["kldrift_drift__cards"].get_task("compute_drift")
    return list(task._get_hook()._build_spark_submit_command(task.application))


def _option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def _confs(command: list[str]) -> dict[str, str]:
    pairs = [command[i + 1] for i, arg in enumerate(command) if arg == "--conf"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_doc_lists_every_cluster_kind() -> None:
    kinds = set(_documented())
    assert {"YARN", "Kubernetes", "this machine's standalone"} <= kinds, kinds


@pytest.mark.parametrize("kind", ["this machine's standalone", "standalone elsewhere"])
def test_standalone_connections_submit_in_client_mode(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = _documented()[kind]
    command = _command(tmp_path, monkeypatch, connection)
    assert _option(command, "--master") == f"{connection['host']}:{connection['port']}"
    assert _option(command, "--deploy-mode") in (None, "client")
    assert _option(command, "--py-files") == ZIP
    assert _option(command, "--config") == str(tmp_path / "monitors.yaml")


def test_yarn_connection_gives_cluster_mode_with_the_zip_and_the_driver_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = _command(tmp_path, monkeypatch, _documented()["YARN"])
    assert _option(command, "--master") == "yarn"
    assert _option(command, "--deploy-mode") == "cluster"
    assert _option(command, "--queue") == "default"
    assert _option(command, "--py-files") == ZIP
    confs = _confs(command)
    # The task's env_vars reach the driver, which runs in YARN's application master.
    assert confs["spark.yarn.appMasterEnv.PYSPARK_PYTHON"]
    assert "spark.yarn.appMasterEnv.KLDRIFT_CACHE_DIR" in confs
    packages = _option(command, "--packages") or ""
    # s3a paths: the Delta jar, hadoop-aws and the AWS SDK modules s3a calls
    assert re.fullmatch(r"io\.delta:delta-spark_[\d.]+_2\.13:[\d.]+,"
                        r"org\.apache\.hadoop:hadoop-aws:[\d.]+"
                        r"(,software\.amazon\.awssdk:[a-z0-9-]+:[\d.]+)+", packages), packages


def _kubernetes_provider() -> bool:
    try:
        import airflow.providers.cncf.kubernetes  # noqa: F401
    except ImportError:
        return False
    return True


def test_kubernetes_connection_gives_cluster_mode_in_the_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the `kubernetes` extra: the command. Without it (the dev and CI venv: the extra
    makes every import of the Spark hook load the Kubernetes clients, ~5 s of CPU): the hook
    refuses the master, which is why infra/cluster.md asks for the extra."""
    connection = _documented()["Kubernetes"]
    if not _kubernetes_provider():
        with pytest.raises(NameError, match="kube_client"):
            _command(tmp_path, monkeypatch, connection)
        assert "kl-drift[kubernetes]" in (ROOT / "infra" / "cluster.md").read_text()
        return
    command = _command(tmp_path, monkeypatch, connection)
    assert _option(command, "--master") == f"{connection['host']}:{connection['port']}"
    assert _option(command, "--deploy-mode") == "cluster"
    assert _option(command, "--py-files") == ZIP
    confs = _confs(command)
    assert confs["spark.kubernetes.namespace"] == "kl-drift"
    assert confs["spark.kubernetes.driverEnv.PYSPARK_PYTHON"]
    assert "spark.kubernetes.driverEnv.KLDRIFT_CACHE_DIR" in confs


def test_s3_paths_add_hadoop_aws_at_the_hadoop_version_spark_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyspark

    command = _command(tmp_path, monkeypatch, {"conn_type": "spark", "host": "local[2]"})
    packages = (_option(command, "--packages") or "").split(",")
    jars = Path(pyspark.__file__).parent / "jars"
    hadoop = next(jars.glob("hadoop-client-api-*.jar")).stem.rsplit("-", 1)[1]
    assert f"org.apache.hadoop:hadoop-aws:{hadoop}" in packages
    assert any(p.startswith("io.delta:delta-spark_") for p in packages)
    # s3a's SDK modules replace the SDK's every-service bundle
    assert any(p.startswith("software.amazon.awssdk:s3:") for p in packages)
    excluded = (_option(command, "--exclude-packages") or "").split(",")
    assert "software.amazon.awssdk:bundle" in excluded
