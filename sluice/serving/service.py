"""The serving core, without HTTP: TF Serving's model status, metadata, predict, classify and
regress over the models it serves, each answer a status code and a JSON body.

`app.py` puts it behind FastAPI; everything a request does happens here: choose the version
(the served one, read once, so a swap never changes a request's version midway), parse and
encode the rows (typed against that version's features where they allow), queue them on
that version's batcher, log a sample, shape the answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from sluice.serving.batcher import Batcher, BatchRejected
from sluice.serving.loaded_version import LoadedVersion
from sluice.serving.metrics import ServingMetrics
from sluice.serving.model_versions import ModelVersions
from sluice.serving.raw_features import InstanceError
from sluice.serving.request_log import RequestLog
from sluice.serving.rest_requests import ClientError, parse_body

log = logging.getLogger(__name__)

# classify's class labels for a binary model: "0" (negative) and "1" (positive), as TF
# Serving's binary classifiers answer; the score of "1" is the model's P(positive). A
# multiclass model's are its class ids "0".."K-1", each with its probability.
CLASS_LABELS = ("0", "1")


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """How the server batches, polls, limits and logs (see `sluice serve --help`).

    Args:
        models: {model name: base path holding its numbered versions}.
        max_batch_size: rows per model call at most (TF Serving's max_batch_size).
        batch_timeout_ms: how long a call that is not full waits for more rows (TF Serving's
            batch_timeout_micros, in ms); 0 batches only what queued while the model was busy.
        poll_seconds: how often each base path is checked for new or removed versions.
        max_instances: rows per request at most.
        max_body_bytes: request bodies larger than this are refused (413) before being read.
        request_log: where sampled request rows go (None: nowhere).
        log_sample: the fraction of requests logged.
        batch_threads: model calls running at once (TF Serving's num_batch_threads); a
            call starts beside a running one only once a quarter of max_batch_size rows wait.
    """

    models: dict[str, Path]
    max_batch_size: int = 1024
    batch_timeout_ms: float = 0.0
    poll_seconds: float = 2.0
    max_instances: int = 10_000
    max_body_bytes: int = 16 << 20
    request_log: Path | None = None
    log_sample: float = 0.01
    batch_threads: int = 1


def _freeze_heap() -> None:
    """Takes the objects alive now (TensorFlow, the loaded models, the libraries: some
    500,000) out of the garbage collector's full collections.

    A request's parsed rows are hundreds of new containers, so under load collections run
    often, and a full one walked that whole heap (0.3-0.5 s on a busy 2-core machine),
    stalling every request in flight. Called on the polling thread after a version is
    loaded; frozen objects are still freed by reference counting, and the collection
    before freezing again picks up a retired version's cycles.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@dataclasses.dataclass
class _Decoded:
    """A request ready to score: its version, its rows (for the request log), their tf.Examples."""

    loaded: LoadedVersion
    rows: list
    examples: list[bytes]
    columnar: bool  # answer with "outputs" (predict's columnar format) instead of "predictions"


class Answer:
    __slots__ = ("status", "body")

    def __init__(self, status: int, body: bytes):
        self.status, self.body = status, body


def error_answer(status: int, message: str) -> Answer:
    """TF Serving's error shape: {"error": message}."""
    return Answer(status, orjson.dumps({"error": message}))


class ServingCore:
    """Serves `options.models`; `start` begins watching their directories, `stop` ends it.

    Args:
        loader: loads and warms up one version (default: the SavedModel's, see loaded_version).
        request_log: overrides the one `options` describes (tests inject a clock through it).
    """

    def __init__(self, options: ServingOptions, loader=None, request_log: RequestLog | None = None):
        self.options = options
        self.metrics = ServingMetrics()
        self.models = {
            name: ModelVersions(name, Path(path), on_change=self._versions_changed, loader=loader)
            for name, path in options.models.items()
        }
        for name in self.models:
            self.metrics.add_model(name)
        self.request_log = request_log or (
            RequestLog(options.request_log, options.log_sample) if options.request_log is not None else None
        )
        self._executor = ThreadPoolExecutor(max_workers=max(1, options.batch_threads), thread_name_prefix="model")
        self._batchers: dict[int, Batcher] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.first_refresh_done = threading.Event()  # every model's directory checked (and loaded, or failed) once

    # lifecycle

    def start(self) -> None:
        """Starts the polling thread (which loads the first versions) and the request log; on the event loop."""
        self._loop = asyncio.get_running_loop()
        self._poller = threading.Thread(target=self._poll, name="version-poller", daemon=True)
        self._poller.start()
        if self.request_log is not None:
            self.request_log.start()

    def stop(self) -> None:
        self._stop.set()
        self.first_refresh_done.set()  # a startup still waiting for it ends too
        if self._poller is not None:
            self._poller.join(timeout=60)
        if self.request_log is not None:
            self.request_log.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def refresh(self) -> None:
        """Checks every model's directory once (the polling thread calls this)."""
        for versions in self.models.values():
            served = versions.served
            try:
                retired = versions.refresh()
            except Exception:  # a surprise in one model's directory must not stop the poller
                log.exception("model %s: refreshing its versions failed", versions.name)
                continue
            if versions.served is not served:
                _freeze_heap()
            if retired is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._retire, retired)

    def _poll(self) -> None:
        self.refresh()
        self.first_refresh_done.set()
        while not self._stop.wait(self.options.poll_seconds):
            self.refresh()

    def ready(self) -> bool:
        """Every model has a version loaded and warmed up."""
        return all(versions.served is not None for versions in self.models.values())

    def _retire(self, loaded: LoadedVersion) -> None:
        batcher = self._batchers.pop(id(loaded), None)
        if batcher is not None:
            batcher.close()  # after the requests queued on it are scored

    def _versions_changed(self, versions: ModelVersions) -> None:
        served = versions.served
        states = [status.state for status in dict(versions.statuses).values()]
        self.metrics.observe_versions(versions.name, served.version if served else None, states, versions.load_failures)

    # requests

    def status(self, name: str, version: int | None) -> Answer:
        versions = self.models.get(name)
        if versions is None:
            return error_answer(404, f"Could not find any versions of model {name}")
        status = versions.status_json(version)
        if status is None:
            return error_answer(404, f"Could not find version {version} of model {name}")
        if not status["model_version_status"]:
            return error_answer(404, f"Could not find any versions of model {name}")
        return Answer(200, orjson.dumps(status))

    def metadata(self, name: str, version: int | None) -> Answer:
        loaded = self._served(name, version)
        if isinstance(loaded, Answer):
            return loaded
        body = {
            "model_spec": {"name": name, "signature_name": "", "version": str(loaded.version)},
            "metadata": {"signature_def": {"signature_def": loaded.signature_def}},
        }
        return Answer(200, orjson.dumps(body))

    async def infer(self, name: str, version: int | None, verb: str, body: bytes) -> Answer:
        """Answers `:predict`, `:classify` or `:regress` (TF Serving's shapes)."""
        started = time.perf_counter()
        answer = await self._infer(name, version, verb, body)
        self.metrics.observe_request(name if name in self.models else "", verb, answer.status, time.perf_counter() - started)
        return answer

    async def _infer(self, name: str, version: int | None, verb: str, body: bytes) -> Answer:
        """Predict answers the task's predictions (P(positive), class probabilities or values);
        classify answers a classification's classes and scores, regress a regression's values
        (and, as before, a binary model's P(positive)); the other pairs are refused, as TF
        Serving refuses a signature of the wrong method."""
        try:
            if name not in self.models:
                return self._not_found(name, version)
            request = self._decode(name, version, verb, body)
            if isinstance(request, Answer):
                return request
            loaded = request.loaded
            scored = self._batcher(loaded).submit(request.examples)  # no await since choosing `loaded`
            if self.request_log is not None:
                self.request_log.record(name, loaded.version, request.rows)
            try:
                probabilities = (await scored).tolist()
            except BatchRejected as error:
                return error_answer(400, f"the model could not score this request: {error}"[:2000])
        except ClientError as error:
            return error_answer(error.status, error.message)
        except Exception as error:  # a bug, not the client's fault; the server keeps serving
            log.exception("model %s: %s failed", name, verb)
            return error_answer(500, f"internal error: {type(error).__name__}")
        if verb == "predict":
            return Answer(200, orjson.dumps({"outputs" if request.columnar else "predictions": probabilities}))
        if verb == "classify":
            if loaded.task == "multiclass":
                return Answer(200, orjson.dumps({"results": [[[str(k), p] for k, p in enumerate(row)] for row in probabilities]}))
            negative, positive = CLASS_LABELS
            return Answer(200, orjson.dumps({"results": [[[negative, 1.0 - p], [positive, p]] for p in probabilities]}))
        return Answer(200, orjson.dumps({"results": probabilities}))

    def _decode(self, name: str, version: int | None, verb: str, body: bytes) -> _Decoded | Answer:
        """The request's rows as serialized tf.Examples, with the version that scores them, or
        the answer refusing the request; raises ClientError.

        Rows of `:predict` ({"instances": [...]}) first try the served version's typed decoder;
        anything it does not take (another shape, a bad value) goes the general way, which
        answers it as it always has, errors included."""
        loaded = self._served(name, version)
        if verb == "predict" and isinstance(loaded, LoadedVersion):
            typed = loaded.instances.decode(body, self.options.max_instances)
            examples = loaded.encoder.encode_typed(typed.columns) if typed is not None else None
            if examples is not None:
                return _Decoded(loaded, typed.rows, examples, columnar=False)
        parsed = parse_body(body, verb, self.options.max_instances)
        loaded = self._served(name, version)
        if isinstance(loaded, Answer):
            return loaded
        refused = _wrong_method(verb, loaded.task)
        if refused is not None:
            return error_answer(400, refused)
        try:
            examples = loaded.encoder.encode_all(parsed.rows)
        except InstanceError as error:
            return error_answer(400, str(error))
        return _Decoded(loaded, parsed.rows, examples, parsed.columnar)

    def _served(self, name: str, version: int | None) -> LoadedVersion | Answer:
        versions = self.models.get(name)
        loaded = versions.served if versions is not None else None
        if loaded is None or (version is not None and loaded.version != version):
            return self._not_found(name, version)
        return loaded

    def _not_found(self, name: str, version: int | None) -> Answer:
        request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        return error_answer(404, f"Servable not found for request: {request}")

    def _batcher(self, loaded: LoadedVersion) -> Batcher:
        batcher = self._batchers.get(id(loaded))
        if batcher is None:
            batcher = self._batchers[id(loaded)] = Batcher(
                loaded.predict,
                self._executor,
                self.options.max_batch_size,
                self.options.batch_timeout_ms / 1000.0,
                on_batch=self.metrics.batch_observer(loaded.name),
                concurrency=self.options.batch_threads,
            )
        return batcher


def _wrong_method(verb: str, task: str) -> str | None:
    """Why `verb` does not fit a model of `task`, or None."""
    if verb == "classify" and task == "regression":
        return "this model is a regression: it answers :regress and :predict, not :classify"
    if verb == "regress" and task == "multiclass":
        return "this model is a multiclass classifier: it answers :classify and :predict, not :regress"
    return None
