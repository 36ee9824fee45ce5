"""Object storage (S3 and S3-compatible servers): the monitors config's `storage` section turned
into what each engine needs, so Spark (s3a) and delta-rs reach the same place the same way.
Credentials never go in the config (`ObjectStorage` says where they come from).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

    def pyarrow_filesystem(self) -> Any:
        """A pyarrow S3 filesystem on the same endpoint (for files beside the tables)."""
        from pyarrow import fs

        scheme = "http" if (self.endpoint or "").startswith("http://") else "https"
        return fs.S3FileSystem(endpoint_override=self.endpoint, region=self.region,
                               scheme=scheme, force_virtual_addressing=not self.uses_path_style)

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


# hadoop-aws depends on the AWS SDK's `bundle`, a 686 MB jar of every AWS service; s3a calls
# only these modules (about 30 MB with their dependencies), at the SDK version that Hadoop
# release was built with (hadoop-project's aws-java-sdk-v2.version). A Hadoop not listed here
# keeps the bundle.
AWS_SDK = "software.amazon.awssdk"
AWS_SDK_MODULES = ("s3", "s3-transfer-manager", "sts")
AWS_SDK_OF_HADOOP = {"3.5.0": "2.35.4"}
# What the SDK modules bring that pyspark's jars already hold at another version: one copy of
# Netty or Apache HttpClient on a classpath, not two.
_SDK_DUPLICATES_OF_SPARK_JARS = (
    "commons-codec:commons-codec",
    *(f"io.netty:netty-{name}" for name in (
        "buffer", "codec", "codec-http", "codec-http2", "common", "handler", "resolver",
        "transport", "transport-classes-epoll", "transport-native-unix-common")),
    "org.apache.httpcomponents:httpclient",
    "org.apache.httpcomponents:httpcore",
)


def hadoop_aws_packages() -> list[str]:
    """hadoop-aws at the Hadoop version Spark runs (or s3a fails at its first call), and the
    AWS SDK modules it needs."""
    hadoop = hadoop_version()
    packages = [f"{HADOOP_AWS}:{hadoop}"]
    sdk = AWS_SDK_OF_HADOOP.get(hadoop)
    if sdk:
        packages += [f"{AWS_SDK}:{module}:{sdk}" for module in AWS_SDK_MODULES]
    return packages


def hadoop_aws_excludes() -> list[str]:
    """What resolving `hadoop_aws_packages` must leave out: the SDK bundle, when its modules
    replace it, and their copies of jars Spark ships."""
    if hadoop_version() not in AWS_SDK_OF_HADOOP:
        return []
    return [f"{AWS_SDK}:bundle", *_SDK_DUPLICATES_OF_SPARK_JARS]
