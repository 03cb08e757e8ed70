import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow_data_validation as tfdv

from sluice.validation.schema_freeze import SchemaExists, freeze
from sluice.validation.findings import schema_config_errors
from tests.helpers import ROOT


def test_frozen_schema_carries_environments_presence_domains_and_thresholds(artifact, tmp_path):
    target = freeze(artifact("statistics_gen"), "income_bracket", tmp_path / "schemas" / "census" / "schema.pbtxt")
    assert target.read_text().startswith("# Frozen by `sluice schema freeze`")
    schema = tfdv.load_schema_text(str(target))
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert list(tfdv.get_feature(schema, "income_bracket").not_in_environment) == ["SERVING"]
    workclass = tfdv.get_feature(schema, "workclass")
    assert 0.8 <= workclass.presence.min_fraction < 1  # unknowns seen in training, with room
    assert workclass.distribution_constraints.min_domain_mass == pytest.approx(0.99)
    assert "Private" in tfdv.get_domain(schema, "workclass").value
    assert tfdv.get_feature(schema, "age").skew_comparator.jensen_shannon_divergence.threshold == pytest.approx(0.1)
    assert tfdv.get_feature(schema, "sex").drift_comparator.infinity_norm.threshold == pytest.approx(0.1)
    assert schema_config_errors(schema) == []


def test_freezing_never_overwrites_a_reviewed_schema_without_force(artifact, tmp_path):
    target = tmp_path / "schema.pbtxt"
    target.write_text("# reviewed by hand\n")
    with pytest.raises(SchemaExists, match="--force"):
        freeze(artifact("statistics_gen"), "income_bracket", target)
    assert target.read_text() == "# reviewed by hand\n"
    freeze(artifact("statistics_gen"), "income_bracket", target, force=True)
    assert "feature {" in target.read_text()


def test_cli_refuses_to_overwrite_the_committed_schema(census_run):
    config, _ = census_run
    committed = (ROOT / "pipelines" / "census" / "schema.pbtxt").read_text()
    sluice = str(Path(sys.executable).parent / "sluice")
    completed = subprocess.run([sluice, "schema", "freeze", "census", "--home", config.home], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1 and "is never overwritten" in completed.stderr
    assert (ROOT / "pipelines" / "census" / "schema.pbtxt").read_text() == committed
