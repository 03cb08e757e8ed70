"""The server's Prometheus metrics, in a registry of its own (several servers may share a process).

| metric | labels | what |
|---|---|---|
| `sluice_serving_requests_total` | model, method, code | requests answered, by HTTP status |
| `sluice_serving_request_errors_total` | model, method, code | of those, the 4xx/5xx ones |
| `sluice_serving_request_latency_seconds` | model, method | histogram, from the body read to the answer |
| `sluice_serving_batch_size` | model | histogram of the rows of each model call |
| `sluice_serving_served_version` | model | the version served (0 = none yet) |
| `sluice_serving_model_versions` | model, state | versions per TF Serving state (AVAILABLE, LOADING, END) |
| `sluice_serving_version_load_failures_total` | model | versions that failed to load or warm up |

A request for a model the server does not know is counted under model="" so that clients
cannot grow the label set.

Under `sluice serve --workers N`, every worker process writes its values to files in the
directory `PROMETHEUS_MULTIPROC_DIR` names (prometheus_client's multiprocess mode, chosen
when the library is imported), and /metrics, whichever worker answers it, adds up the
counters and histograms of all of them; a gauge shows the highest value among the live
workers (the version served by any, so a worker still loading at 0 hides nothing).
Each worker loads each version, so a version that fails in two workers counts two load
failures.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("sluice_serving_requests", "Requests answered.", ["model", "method", "code"], registry=self.registry)
        self.errors = Counter("sluice_serving_request_errors", "Requests answered with an error.", ["model", "method", "code"], registry=self.registry)
        self.latency = Histogram(
            "sluice_serving_request_latency_seconds", "Request latency.", ["model", "method"], buckets=_LATENCY_BUCKETS, registry=self.registry
        )
        self.batch_size = Histogram("sluice_serving_batch_size", "Rows per model call.", ["model"], buckets=_BATCH_BUCKETS, registry=self.registry)
        self.served_version = Gauge(
            "sluice_serving_served_version", "The version served.", ["model"], registry=self.registry, multiprocess_mode="livemax"
        )
        self.versions = Gauge(
            "sluice_serving_model_versions", "Versions by state.", ["model", "state"], registry=self.registry, multiprocess_mode="livemax"
        )
        self.load_failures = Counter(
            "sluice_serving_version_load_failures", "Versions that failed to load or warm up.", ["model"], registry=self.registry
        )
        self._children: dict = {}
        self._failures_seen: dict[str, int] = {}

    def add_model(self, model: str) -> None:
        """Starts a served model's series at zero, so they show before its first request."""
        self.batch_size.labels(model)
        self.load_failures.labels(model)
        self.observe_versions(model, None, [], 0)

    def observe_request(self, model: str, method: str, code: int, seconds: float) -> None:
        key = (model, method, code)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(model, method, str(code)),
                self.errors.labels(model, method, str(code)) if code >= 400 else None,
                self.latency.labels(model, method),
            )
        requests, errors, latency = children
        requests.inc()
        if errors is not None:
            errors.inc()
        latency.observe(seconds)

    def batch_observer(self, model: str):
        """A callable that records one model call's row count."""
        return self.batch_size.labels(model).observe

    def observe_versions(self, model: str, served: int | None, states: list[str], failures: int) -> None:
        self.served_version.labels(model).set(served or 0)
        for state in ("LOADING", "AVAILABLE", "END"):
            self.versions.labels(model, state).set(states.count(state))
        new = failures - self._failures_seen.get(model, 0)
        if new > 0:
            self.load_failures.labels(model).inc(new)
            self._failures_seen[model] = failures

    def exposition(self) -> bytes:
        directory = os.environ.get(MULTIPROCESS_DIR_ENV)
        if not directory:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, path=directory)
        return generate_latest(every_worker)
