"""The census model pushed by a real run, served over REST: raw CSV rows sent as JSON get the
probabilities a direct call of the SavedModel's signature gives (`predict_raw`)."""

from __future__ import annotations

import httpx
import numpy as np

from pipelines.census import pipeline as census
from sluice.data.rows import CsvFormat
from sluice.modeling.predict import latest_version, predict_csv
from sluice.serving.server import serve_in_thread
from sluice.serving.service import ServingOptions
from tests.helpers import CENSUS_SAMPLE_TEST


def test_rest_predictions_equal_the_signatures_on_census_rows(census_run):
    base = census_run.config.serving_root + "/census"
    direct = predict_csv(latest_version(base), str(CENSUS_SAMPLE_TEST), CsvFormat(**census.CSV_FORMAT), census.LABEL_KEY, limit=60)
    rows = [p.features for p in direct]

    with serve_in_thread(ServingOptions(models={"census": base}, poll_seconds=60)) as server:
        server.wait_ready(timeout=120)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            whole = client.post("/v1/models/census:predict", json={"instances": rows}).json()["predictions"]
            one_by_one = [client.post("/v1/models/census:predict", json={"instances": [row]}).json()["predictions"][0] for row in rows[:10]]
            columns = {name: [row.get(name) for row in rows] for name in rows[0]}
            columnar = client.post("/v1/models/census:predict", json={"inputs": columns}).json()["outputs"]

    expected = np.array([p.probability for p in direct])
    np.testing.assert_allclose(whole, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(one_by_one, expected[:10], rtol=0, atol=1e-6)
    np.testing.assert_allclose(columnar, expected, rtol=0, atol=1e-6)
    assert np.std(expected) > 1e-3  # the rows are not all scored alike
