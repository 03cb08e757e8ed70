"""Skew/drift measures against hand-computed values, and schemas whose comparators cannot fire."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from sluice.validation.findings import SchemaConfigError, check_schema_config, comparison_findings, schema_config_errors


def jensen_shannon(p, q):
    p, q = np.asarray(p, float), np.asarray(q, float)
    m = (p + q) / 2
    kl = lambda a, b: np.sum(np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / b), 0))
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def skew(train: pd.DataFrame, serving: pd.DataFrame, feature: str, comparator: str):
    training_stats = tfdv.generate_statistics_from_dataframe(train)
    serving_stats = tfdv.generate_statistics_from_dataframe(serving)
    schema = tfdv.infer_schema(training_stats)
    getattr(tfdv.get_feature(schema, feature).skew_comparator, comparator).threshold = 0.05
    anomalies = tfdv.validate_statistics(training_stats, schema, serving_statistics=serving_stats)
    (finding,) = comparison_findings(anomalies, "skew", "serving", "train")
    return finding


def test_l_infinity_of_a_categorical_is_the_largest_share_difference():
    train = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["c"] * 20})
    serving = pd.DataFrame({"c": ["a"] * 30 + ["b"] * 30 + ["c"] * 20 + ["new"] * 20})
    finding = skew(train, serving, "c", "infinity_norm")
    # shares: a .50 -> .30, b .30 -> .30, c .20 -> .20, new 0 -> .20: the largest gap is 0.20
    assert finding.measure == "L-infinity distance"
    assert finding.value == pytest.approx(0.20, abs=1e-9)
    assert finding.threshold == pytest.approx(0.05) and finding.blocking


@pytest.mark.parametrize(
    "train_values, serving_values, expected",
    [
        ([0.0] * 500 + [1.0] * 500, [0.0] * 250 + [1.0] * 750, jensen_shannon([0.5, 0.5], [0.25, 0.75])),
        ([0.0] * 500 + [1.0] * 500, [2.0] * 500 + [3.0] * 500, 1.0),  # disjoint: the maximum, 1 bit
        ([0.0] * 500 + [1.0] * 500, [0.0] * 500 + [1.0] * 500, 0.0),
    ],
    ids=["shifted_shares", "disjoint", "identical"],
)
def test_jensen_shannon_divergence_of_a_numeric_matches_the_hand_value(train_values, serving_values, expected):
    finding = skew(pd.DataFrame({"x": train_values}), pd.DataFrame({"x": serving_values}), "x", "jensen_shannon_divergence")
    assert finding.measure == "Jensen-Shannon divergence"
    assert finding.value == pytest.approx(expected, abs=1e-3)
    assert finding.blocking == (expected > 0.05)


def schema_text(feature_type: str, comparator: str, categorical: bool = False) -> str:
    domain = "int_domain { is_categorical: true }" if categorical else ""
    return f'feature {{ name: "f" type: {feature_type} {domain} skew_comparator {{ {comparator} {{ threshold: 0.1 }} }} }}'


@pytest.mark.parametrize(
    "feature_type, comparator, categorical, can_fire",
    [
        ("FLOAT", "infinity_norm", False, False),
        ("INT", "infinity_norm", False, False),
        ("INT", "infinity_norm", True, True),
        ("BYTES", "infinity_norm", False, True),
        ("FLOAT", "jensen_shannon_divergence", False, True),
    ],
)
def test_a_comparator_that_can_never_fire_is_rejected_when_loaded(feature_type, comparator, categorical, can_fire):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = text_format.Parse(schema_text(feature_type, comparator, categorical), schema_pb2.Schema())
    assert (schema_config_errors(schema) == []) == can_fire
    if not can_fire:
        with pytest.raises(SchemaConfigError, match="feature 'f': skew_comparator uses L-infinity.*can never fire"):
            check_schema_config(schema)


def test_the_reviewed_census_schema_has_comparators_that_can_fire():
    from tests.helpers import ROOT

    schema = tfdv.load_schema_text(str(ROOT / "pipelines" / "census" / "schema.pbtxt"))
    assert schema_config_errors(schema) == []
    assert all(f.HasField("skew_comparator") and f.HasField("drift_comparator") for f in schema.feature)
