"""Batch scoring of census rows: each new day of rows to score, and each newly pushed model, starts a run.

Rows to score go to $SLUICE_HOME/scoring_input/census/YYYY-MM-DD/*.csv (the pipeline's raw
CSV format without the label), each day's directory renamed into place when complete.
"""

from pathlib import Path

from sluice.airflow_batch import build_batch_scoring_dag
from sluice.config import default_home

dag = build_batch_scoring_dag("census", str(Path(default_home()) / "scoring_input" / "census" / "{YYYY}-{MM}-{DD}" / "*.csv"))
