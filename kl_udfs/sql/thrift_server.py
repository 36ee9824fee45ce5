"""`kldrift sql-server`: the Spark Thrift server (HiveServer2 protocol) over the monitoring tables.

The pyspark wheel ships no start-thriftserver.sh, so the server is started the way that script
does it: `sbin/spark-daemon.sh submit ...HiveThriftServer2`. Its pid, logs and a throw-away Derby
metastore live in one run directory; the tables are registered through beeline once it listens.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kl_udfs.core.cache import cache_dir
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.storage import ObjectStorage
from kl_udfs.sql.queries import check_monitoring_path, registration_sql

SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
IDENT = "kldrift-sql"
HOST = "127.0.0.1"
DEFAULT_PORT = 10000


def spark_home() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise KlDriftError("pyspark is not installed in this environment")
    return Path(spec.origin).parent


def default_run_dir() -> Path:
    return cache_dir() / "sql-server"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def pid_file(self) -> Path:
        return self.path / f"spark-{IDENT}-{SERVER_CLASS}-1.pid"

    @property
    def log_file(self) -> Path:
        return self.path / f"spark-{IDENT}-{SERVER_CLASS}-1-{socket.gethostname()}.out"

    @property
    def port_file(self) -> Path:
        return self.path / "port"

    def pid(self) -> int | None:
        """The server's pid when it is alive, from the pid file spark-daemon.sh wrote."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not a server
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def server_jars(storage: ObjectStorage | None = None) -> list[Path]:
    """The Delta jars (and with `storage` the s3a ones) that Spark's Ivy resolved into the
    cache, resolved now if they are missing.

    The server needs them on the driver's class path too: jars passed only with --packages
    are invisible to the class loader that builds the Hive session's catalog.
    """
    from importlib.metadata import version

    jars_dir = cache_dir() / "ivy" / "jars"
    delta = version("delta-spark")
    wanted = ["io.delta_delta-spark", *(["org.apache.hadoop_hadoop-aws"] if storage else [])]

    def current() -> list[Path]:
        found = sorted(jars_dir.glob("*.jar")) if jars_dir.is_dir() else []
        # Old Delta versions may linger in the cache after an upgrade: keep only ours. The
        # s3a jars only when asked, and never the SDK bundle their modules replace.
        return [j for j in found if (not j.name.startswith("io.delta_")
                                     or j.name.endswith(f"-{delta}.jar"))
                and (storage or not j.name.startswith(("org.apache.hadoop_hadoop-aws",
                                                       "software.amazon.")))
                and not j.name.startswith("software.amazon.awssdk_bundle")]

    if not all(any(j.name.startswith(w) for j in current()) for w in wanted):
        from kl_udfs.spark.session import get_spark

        get_spark("local[1]", storage=storage).stop()
    jars = current()
    if not jars:
        raise KlDriftError(f"the Delta jars could not be resolved into {jars_dir}")
    return jars


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def _env(run: RunDir) -> dict[str, str]:
    env = os.environ.copy()
    env.update({
        "SPARK_HOME": str(spark_home()),
        "SPARK_PID_DIR": str(run.path),
        "SPARK_LOG_DIR": str(run.path),
        "SPARK_IDENT_STRING": IDENT,
        "SPARK_LOCAL_IP": HOST,
        "PYSPARK_PYTHON": env.get("PYSPARK_PYTHON", sys.executable),
    })
    return env


def jdbc_url(port: int) -> str:
    return f"jdbc:hive2://{HOST}:{port}/default"


def beeline(port: int, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the beeline client of the pyspark wheel against the server."""
    command = [str(spark_home() / "bin" / "beeline"), "-u", jdbc_url(port), "--silent=true",
               "--showWarnings=false", *args]
    env = os.environ.copy()
    env["SPARK_HOME"] = str(spark_home())
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


@dataclass(frozen=True)
class Server:
    pid: int
    port: int
    run_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return jdbc_url(self.port)


def start(root: str, database: str, port: int = DEFAULT_PORT, master: str = "local[2]",
          run_dir: Path | None = None, timeout_s: float = 300,
          storage: ObjectStorage | None = None) -> Server:
    """Start the server in the background, register the tables, return once it answers SQL;
    with `storage`, the tables can be on object storage (keys from the environment)."""
    check_monitoring_path(root)
    run = RunDir(run_dir or default_run_dir())
    running = run.pid()
    if running:
        raise KlDriftError(f"the SQL server is already running (pid {running}); stop it with "
                           f"`kldrift sql-server --stop`")
    if not _port_free(port):
        raise KlDriftError(f"port {HOST}:{port} is in use; choose another with --port")
    run.path.mkdir(parents=True, exist_ok=True)
    # A fresh metastore each start: registrations always point at today's table locations.
    for stale in ("metastore_db", "warehouse", run.log_file.name):
        target = run.path / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    jars = server_jars(storage)
    conf = {
        **(storage.spark_settings() if storage else {}),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.sql.warehouse.dir": str(run.path / "warehouse"),
        "spark.local.dir": str(run.path / "tmp"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={run.path}",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={run.path / 'metastore_db'};create=true",
    }
    hive = {
        "hive.server2.thrift.bind.host": HOST,
        "hive.server2.thrift.port": str(port),
        "hive.server2.logging.operation.log.location": str(run.path / "operation_logs"),
        "hive.exec.local.scratchdir": str(run.path / "scratch"),
        "hive.exec.scratchdir": str(run.path / "hive-scratch"),
    }
    command = [str(spark_home() / "sbin" / "spark-daemon.sh"), "submit", SERVER_CLASS, "1",
               "--name", "kl-drift SQL", "--master", master,
               "--jars", ",".join(map(str, jars)),
               "--driver-class-path", os.pathsep.join(map(str, jars))]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    for key, value in hive.items():
        command += ["--hiveconf", f"{key}={value}"]
    launched = subprocess.run(command, env=_env(run), capture_output=True, text=True, check=False)
    if launched.returncode != 0:
        raise KlDriftError("spark-daemon.sh could not start the SQL server: "
                           + (launched.stdout + launched.stderr).strip().splitlines()[-1])
    run.port_file.write_text(str(port))
    deadline = time.monotonic() + timeout_s
    while not _listening(port):
        # spark-daemon.sh wrote the pid file before returning: no pid means the JVM died.
        if run.pid() is None:
            raise KlDriftError(f"the SQL server exited while starting: {_last_error(run)}")
        if time.monotonic() > deadline:
            stop(run.path)
            raise KlDriftError(f"the SQL server did not listen on {HOST}:{port} within "
                               f"{timeout_s:.0f} s (log: {run.log_file})")
        time.sleep(0.5)
    pid = run.pid()
    if pid is None:
        raise KlDriftError(f"the SQL server exited while starting: {_last_error(run)}")
    script = run.path / "register.sql"
    script.write_text(";\n".join(registration_sql(root, database)) + ";\n")
    registered = beeline(port, "-f", str(script))
    failure = _beeline_error(registered)
    if failure:
        stop(run.path)
        raise KlDriftError(f"registering the monitoring tables failed: {failure}")
    return Server(pid, port, run.path, run.log_file)


def _beeline_error(result: subprocess.CompletedProcess[str]) -> str | None:
    lines = (result.stdout + "\n" + result.stderr).splitlines()
    errors = [line.strip() for line in lines if line.startswith("Error:")]
    if errors:
        return errors[0]
    if result.returncode != 0:
        return next(reversed([line for line in lines if line.strip()]), "beeline failed")
    return None


def _last_error(run: RunDir) -> str:
    try:
        lines = run.log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log at {run.log_file}"
    for line in reversed(lines):
        if "Exception" in line or "ERROR" in line:
            return line.strip()[:300]
    return f"see {run.log_file}"


def stop(run_dir: Path | None = None, grace_s: float = 30) -> int | None:
    """Stop the server by the pid in its pid file; returns that pid, or None if none ran."""
    run = RunDir(run_dir or default_run_dir())
    pid = run.pid()
    if pid is None:
        run.pid_file.unlink(missing_ok=True)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    run.pid_file.unlink(missing_ok=True)
    return pid


def status(run_dir: Path | None = None) -> tuple[int, int] | None:
    """(pid, port) of a running server."""
    run = RunDir(run_dir or default_run_dir())
    pid = run.pid()
    if pid is None:
        return None
    try:
        port = int(run.port_file.read_text())
    except (OSError, ValueError):
        port = DEFAULT_PORT
    return pid, port
