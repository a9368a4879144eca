"""An Airflow task that runs driftmon once after the nightly scoring job.

`driftmon check` pushes the results to the Pushgateway whatever they are, then exits 0
(no critical drift), 1 (critical drift), 2 (bad config) or 3 (an evaluation or the push
failed). A BashOperator fails on any non-zero exit, so a drifted day shows as a failed
task while the metrics (and the alerts on them) are already in Prometheus. Set each
monitor's `schedule:` to the DAG's schedule ({cron: "30 3 * * *"}); the staleness and
"no push" alerts read it.

Copy into your DAGs folder; needs the `driftmon-exporter` distribution on the workers
(`pip install .` from a clone of driftmon, or a wheel built there: the name `driftmon` on
PyPI is another project), or run the image with a KubernetesPodOperator and the same arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="driftmon_nightly",
    schedule="30 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 0},  # exit 1 means drift was found: a retry would find it again
    tags=["ml", "monitoring"],
) as dag:
    drift_check = BashOperator(
        task_id="drift_check",
        bash_command=(
            "driftmon check -c /opt/driftmon/driftmon.yaml --format json"
            " --push-gateway http://pushgateway:9091 --job driftmon-nightly"
            " --grouping dag={{ dag.dag_id }}"
        ),
        execution_timeout=timedelta(hours=1),
    )
