"""The SparkSubmitOperator the generated DAGs use: bad input and a failed gate are not retried.

Retries are for what may pass next time (a lost executor, a busy cluster). A missing table or
column, a broken config or a missing baseline fails the same way on every try, and so does a
window that fails its quality gate: three spark-submits of either only delay the red task. The
job says which it was by its exit status, which spark-submit passes on in client mode (in
cluster mode it may not: then Airflow retries, as before).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from kl_udfs.core.errors import BAD_INPUT_EXIT, GATE_FAILED_EXIT

FINAL = {BAD_INPUT_EXIT: "bad input", GATE_FAILED_EXIT: "the quality gate failed"}


class KlDriftSubmitOperator(SparkSubmitOperator):
    def execute(self, context: Any) -> None:
        try:
            super().execute(context)
        except AirflowException as error:
            process = getattr(self._hook, "_submit_sp", None)
            reason = FINAL.get(process.returncode) if process is not None else None
            if reason is not None:
                raise AirflowFailException(f"{reason}, not retried: {error}") from error
            raise
