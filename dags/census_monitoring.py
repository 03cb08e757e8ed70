"""Monitoring of the census model in service: the request log checked each hour; a blocking finding retrains."""

from sluice.airflow_monitoring import build_monitoring_dag

dag = build_monitoring_dag("census")

if __name__ == "__main__":
    dag.test()
