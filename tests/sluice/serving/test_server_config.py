"""Which models `sluice serve` serves: a pipeline's pushes, --model-dir pairs, a TF Serving models config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.errors import SluiceError
from sluice.serving.server import read_models_config, resolve_models

MODELS_CONFIG = """
model_config_list {
  config {
    name: 'census'
    base_path: "/models/census"
    model_platform: 'tensorflow'
    model_version_policy { latest { num_versions: 1 } }
  }
  config { name: "churn" base_path: '/models/churn' }
}
"""


def test_models_come_from_the_pipeline_the_model_dirs_and_a_models_config(tmp_path):
    config = tmp_path / "models.config"
    config.write_text(MODELS_CONFIG)
    assert read_models_config(config) == {"census": Path("/models/census"), "churn": Path("/models/churn")}
    serving, extra = tmp_path / "serving", tmp_path / "x"
    assert resolve_models(str(serving), "census", [f"extra={extra}"], None) == {"census": serving / "census", "extra": extra}
    assert resolve_models(None, None, [], str(config))["churn"] == Path("/models/churn")


@pytest.mark.parametrize("pipeline, model_dirs, words", [
    (None, [], "nothing to serve"),
    (None, ["census"], "expected NAME=PATH"),
    (None, ["a/b=/x"], "letters, digits"),
    (None, ["a=/x", "a=/y"], "given twice"),
    ("census", ["census=/y"], "given twice"),
])
def test_a_bad_model_list_is_refused_with_its_reason(pipeline, model_dirs, words, tmp_path):
    with pytest.raises(SluiceError, match=words):
        resolve_models(str(tmp_path / "serving"), pipeline, model_dirs, None)
