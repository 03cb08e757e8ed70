"""TF Serving's REST API over real HTTP on loopback, served from a real SavedModel."""

from __future__ import annotations

import base64
import concurrent.futures
import re

import httpx
import pytest

from sluice.serving.server import serve_in_thread
from sluice.serving.service import ServingOptions
from sluice.serving.raw_features import encode_instance, read_raw_features
from tests.sluice.serving.tiny_model import ROW, expected_probability, push

OTHER = {"age": 61, "hours": 12.5, "workclass": None}


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    base = tmp_path_factory.mktemp("models") / "tiny"
    base.mkdir()
    push(tiny_model, base, 7)
    (base / ".staging-9").mkdir()  # a Pusher's half-done copy is not a version
    (base / "notes").mkdir()
    options = ServingOptions(models={"tiny": base}, poll_seconds=0.1, max_instances=50, max_body_bytes=20_000)
    with serve_in_thread(options) as running:
        running.wait_ready(timeout=60)
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def b64(row, tiny_model) -> str:
    return base64.b64encode(encode_instance(row, read_raw_features(tiny_model))).decode()


def test_model_status_follows_tf_serving(client):
    expected = {"model_version_status": [{"version": "7", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.get("/v1/models/tiny").json() == expected
    assert client.get("/v1/models/tiny/versions/7").json() == expected


def test_metadata_holds_the_signature_def_as_tf_serving_shows_it(client):
    metadata = client.get("/v1/models/tiny/metadata").json()
    assert metadata["model_spec"] == {"name": "tiny", "signature_name": "", "version": "7"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["examples"]["dtype"] == "DT_STRING"
    assert signature["inputs"]["examples"]["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert signature["outputs"]["probability"]["dtype"] == "DT_FLOAT"
    assert client.get("/v1/models/tiny/versions/7/metadata").json() == metadata


@pytest.mark.parametrize("url", ["/v1/models/tiny:predict", "/v1/models/tiny/versions/7:predict"])
def test_predict_rows_and_columns(client, url, tiny_model):
    rows = client.post(url, json={"instances": [ROW, OTHER]}).json()
    assert rows["predictions"] == pytest.approx([expected_probability(ROW), expected_probability(OTHER)], abs=1e-6)
    columns = client.post(url, json={"inputs": {"age": [39, 61], "hours": [40.0, 12.5], "workclass": ["Private", None]}}).json()
    assert columns == {"outputs": rows["predictions"]}
    one_element_lists = client.post(url, json={"instances": [{k: [v] for k, v in ROW.items()}]}).json()
    assert one_element_lists["predictions"] == rows["predictions"][:1]


def test_predict_serialized_examples(client, tiny_model):
    expected = client.post("/v1/models/tiny:predict", json={"instances": [ROW, OTHER]}).json()["predictions"]
    encoded = [b64(ROW, tiny_model), b64({k: v for k, v in OTHER.items() if v is not None}, tiny_model)]
    assert client.post("/v1/models/tiny:predict", json={"instances": [{"b64": e} for e in encoded]}).json()["predictions"] == expected
    named = {"instances": [{"examples": {"b64": e}} for e in encoded]}
    assert client.post("/v1/models/tiny:predict", json=named).json()["predictions"] == expected
    columnar = {"inputs": {"examples": [{"b64": e} for e in encoded]}}
    assert client.post("/v1/models/tiny:predict", json=columnar).json() == {"outputs": expected}
    assert client.post("/v1/models/tiny:predict", json={"inputs": [{"b64": e} for e in encoded]}).json() == {"outputs": expected}


def test_classify_and_regress(client):
    p = [expected_probability(ROW), expected_probability(OTHER)]
    classified = client.post("/v1/models/tiny:classify", json={"examples": [ROW, OTHER]}).json()
    assert [[label for label, _ in pairs] for pairs in classified["results"]] == [["0", "1"], ["0", "1"]]
    assert [pairs[1][1] for pairs in classified["results"]] == pytest.approx(p, abs=1e-6)
    assert [pairs[0][1] + pairs[1][1] for pairs in classified["results"]] == pytest.approx([1.0, 1.0])
    regressed = client.post("/v1/models/tiny/versions/7:regress", json={"examples": [ROW, OTHER]}).json()
    assert regressed["results"] == pytest.approx(p, abs=1e-6)
    with_context = client.post(
        "/v1/models/tiny:regress", json={"context": {"hours": 40.0}, "examples": [{"age": 39, "workclass": "Private"}]}
    ).json()
    assert with_context["results"] == pytest.approx(p[:1], abs=1e-6)


def test_probes_and_metrics(client):
    assert client.post("/v1/models/tiny:predict", json={"instances": [ROW]}).status_code == 200  # a request to count
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}
    metrics = client.get("/metrics").text
    assert 'sluice_serving_served_version{model="tiny"} 7.0' in metrics
    assert 'sluice_serving_model_versions{model="tiny",state="AVAILABLE"} 1.0' in metrics
    assert re.search(r'sluice_serving_requests_total\{code="200",method="predict",model="tiny"\} [1-9]', metrics)
    assert "sluice_serving_request_latency_seconds_bucket" in metrics


@pytest.mark.parametrize("url, body, status, words", [
    ("/v1/models/tiny:predict", b"{\"instances\": [", 400, "malformed JSON"),
    ("/v1/models/tiny:predict", b"", 400, "empty request body"),
    ("/v1/models/tiny:predict", b"[1, 2]", 400, "must be a JSON object"),
    ("/v1/models/tiny:predict", b'{"instances": []}', 400, "no instances"),
    ("/v1/models/tiny:predict", b'{"instances": [], "inputs": {}}', 400, "exactly one of them"),
    ("/v1/models/nope:predict", b'{"instances": [{}]}', 404, "Servable not found for request: Latest(nope)"),
    ("/v1/models/tiny/versions/8:predict", b'{"instances": [{}]}', 404, "Specific(tiny, 8)"),
    ("/v1/models/tiny/versions/x:predict", b'{"instances": [{}]}', 400, "version must be a positive integer"),
    ("/v1/models/tiny:explain", b'{"instances": [{}]}', 404, "unknown method 'explain'"),
    ("/v1/models/tiny:predict", b'{"instances": [{"hours": 1.0}]}', 400, "instance 0: feature 'age': missing"),
    ("/v1/models/tiny:predict", b'{"instances": [{"age": 1, "hours": 1.0, "colour": "red"}]}', 400,
     "feature 'colour': unknown feature (expected: ['age', 'hours', 'workclass'])"),
    ("/v1/models/tiny:predict", b'{"instances": [{"age": "old", "hours": 1.0}]}', 400, "feature 'age': 'old' is not an integer"),
    ("/v1/models/tiny:predict", b'{"instances": [{"age": 1, "hours": 1.0}, {"age": 2, "hours": "x"}]}', 400,
     "instance 1: feature 'hours': 'x' is not a finite number"),
    ("/v1/models/tiny:predict", b'{"instances": [{"b64": "not base64!"}]}', 400, "not valid base64"),
    ("/v1/models/tiny:predict", b'{"instances": [{"b64": "AAAA"}]}', 400, "not a serialized tf.Example"),
    ("/v1/models/tiny:predict", b'{"inputs": {"age": [1, 2], "hours": [1.0]}}', 400, "differ in length"),
    ("/v1/models/tiny:predict", b'{"signature_name": "other", "instances": [{}]}', 400, "unknown signature_name"),
    ("/v1/models/tiny:classify", b'{"examples": [{"age": 1}], "context": {"age": 2}}', 400, "in both the context and the example"),
    ("/v1/models/tiny:predict", b'{"instances": [' + b",".join([b'{"age": 1, "hours": 1.0}'] * 51) + b"]}", 400,
     "51 instances in one request; at most 50"),
])
def test_client_errors_are_4xx_with_a_message(client, url, body, status, words):
    response = client.post(url, content=body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_unknown_models_versions_and_paths_are_404(client):
    assert client.get("/v1/models/nope").status_code == 404
    assert "Could not find version 3 of model tiny" in client.get("/v1/models/tiny/versions/3").json()["error"]
    assert client.get("/v1/models/tiny/versions/3/metadata").status_code == 404
    assert client.get("/v2/anything").json() == {"error": "Not Found"}
    assert client.put("/v1/models/tiny:predict").status_code == 405


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, server):
    big = b'{"instances": [' + b",".join([b'{"age": 1, "hours": 1.0}'] * 2000) + b"]}"
    assert len(big) > server.core.options.max_body_bytes
    response = client.post("/v1/models/tiny:predict", content=big)
    assert response.status_code == 413 and "larger than 20000 bytes" in response.json()["error"]

    def chunks():  # no Content-Length: cut off while streaming
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = client.post("/v1/models/tiny:predict", content=chunks())
    assert streamed.status_code == 413
    assert client.post("/v1/models/tiny:predict", json={"instances": [ROW]}).status_code == 200


def test_concurrent_requests_share_model_calls(client, server):
    def batch_calls():
        text = client.get("/metrics").text
        count = float(re.search(r'sluice_serving_batch_size_count\{model="tiny"\} (\S+)', text).group(1))
        rows = float(re.search(r'sluice_serving_batch_size_sum\{model="tiny"\} (\S+)', text).group(1))
        return count, rows

    calls_before, rows_before = batch_calls()
    requests = 200
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with httpx.Client(base_url=server.url, timeout=10, limits=limits) as shared, concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: shared.post("/v1/models/tiny:predict", json={"instances": [ROW]}).status_code, range(requests)))
    assert codes == [200] * requests
    calls, rows = batch_calls()
    assert rows - rows_before == requests
    assert calls - calls_before < requests  # some model calls scored several requests
