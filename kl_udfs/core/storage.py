"""Object storage (S3 and S3-compatible servers): the monitors config's `storage` section turned
into what each engine needs, so Spark (s3a) and delta-rs reach the same place the same way.
Credentials never go in the config (`ObjectStorage` says where they come from).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SCHEMES = ("s3://", "s3a://")
HADOOP_AWS = "org.apache.hadoop:hadoop-aws"


def is_object_store(path: str) -> bool:
    return path.startswith(SCHEMES)


class ObjectStorage(BaseModel):
    """The config's `storage` section: where an S3 API answers (AWS itself without an
    `endpoint`). Credentials never go here: both engines read AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the environment, or the machine's role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str | None = Field(None, pattern=r"^https?://", description=(
        "URL of an S3-compatible server (MinIO, Ceph...); null: AWS S3 itself"))
    region: str | None = Field(None, description=(
        "the buckets' region; null: each engine's default"))
    path_style: bool | None = Field(None, description=(
        "address buckets as `<endpoint>/<bucket>` (path style) instead of "
        "`<bucket>.<endpoint>` (virtual host); null: path style with an `endpoint`, else "
        "virtual host"))

    @property
    def uses_path_style(self) -> bool:
        return self.endpoint is not None if self.path_style is None else self.path_style

    def spark_settings(self) -> dict[str, str]:
        """Hadoop's s3a settings; `s3://` paths are s3a too (Hadoop has no other S3 client)."""
        settings = {"spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                    "spark.hadoop.fs.s3a.path.style.access": str(self.uses_path_style).lower()}
        if self.endpoint:
            settings["spark.hadoop.fs.s3a.endpoint"] = self.endpoint
            settings["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
                self.endpoint.startswith("https://")).lower()
        if self.region:
            settings["spark.hadoop.fs.s3a.endpoint.region"] = self.region
        return settings

    def delta_rs_options(self) -> dict[str, str]:
        """delta-rs `storage_options` for the same endpoint."""
        options = {"AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not self.uses_path_style).lower()}
        if self.endpoint:
            options["AWS_ENDPOINT_URL"] = self.endpoint
            options["AWS_ALLOW_HTTP"] = str(self.endpoint.startswith("http://")).lower()
        if self.region:
            options["AWS_REGION"] = self.region
        return options


def hadoop_version() -> str:
    """The Hadoop version of the jars pyspark ships, found without importing pyspark."""
    from importlib.util import find_spec

    spec = find_spec("pyspark")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        for jar in sorted((Path(folder) / "jars").glob("hadoop-client-api-*.jar")):
            return jar.stem.removeprefix("hadoop-client-api-")
    raise RuntimeError("pyspark's jars hold no hadoop-client-api jar: cannot pick hadoop-aws")


def hadoop_aws_package() -> str:
    """hadoop-aws must be the Hadoop version Spark runs, or s3a fails at its first call."""
    return f"{HADOOP_AWS}:{hadoop_version()}"
