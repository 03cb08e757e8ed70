"""The census pipeline as an Airflow DAG, built from pipelines/census/pipeline.py."""

from sluice.airflow_dag import build_dag

dag = build_dag("census")

if __name__ == "__main__":
    dag.test()
