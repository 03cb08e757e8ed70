"""Every preprocessing helper gives the same values in training and at serving.

One TFT analysis on Beam (the Transform path) computes every helper's output over a few
rows; the same rows, as serialized raw tf.Example, go through the saved transform graph
(the serving path), and each case demands identical outputs and pins what the statistics
were.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from sluice import preprocessing as pp

pytestmark = [pytest.mark.beam, pytest.mark.xdist_group("preprocessing_library")]  # one TFT analysis per module

RAW_SPEC = {
    "x": tf.io.VarLenFeature(tf.float32),  # may be missing
    "n": tf.io.FixedLenFeature([1], tf.int64),
    "c": tf.io.VarLenFeature(tf.string),  # may be missing
    "text": tf.io.FixedLenFeature([1], tf.string),
}
ROWS = [
    {"x": [1.0], "n": [1], "c": [b"red"], "text": [b"the cat sat"]},
    {"x": [2.0], "n": [5], "c": [b"red"], "text": [b"the dog"]},
    {"x": [], "n": [9], "c": [], "text": [b"a cat and a dog"]},
    {"x": [6.0], "n": [20], "c": [b"blue"], "text": [b"the end"]},
    {"x": [100.0], "n": [40], "c": [b"green"], "text": [b"cat"]},
]


def example(row) -> bytes:
    features = {}
    for key, values in row.items():
        if not values:
            continue
        if isinstance(values[0], float):
            features[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        elif isinstance(values[0], int):
            features[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        else:
            features[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def train_and_serve(preprocessing_fn, tmp_path):
    """(outputs of the Beam transform, outputs of the saved graph on serialized rows)."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        (batch_rows, _), transform_fn = (ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    metadata_io.write_metadata(metadata, str(tmp_path / "out" / "metadata"))
    output = tft.TFTransformOutput(str(tmp_path / "out"))
    raw = tf.io.parse_example(tf.constant([example(r) for r in ROWS]), RAW_SPEC)
    served = output.transform_features_layer()(raw)
    return batch_rows, {k: (tf.sparse.to_dense(v) if isinstance(v, tf.SparseTensor) else v).numpy() for k, v in served.items()}


def assert_identical(batch_rows, served, key):
    trained = np.array([np.asarray(row[key]).reshape(-1) for row in batch_rows]).reshape(served[key].shape)
    np.testing.assert_allclose(trained, served[key], rtol=1e-6, atol=1e-6)
    return trained


CASES = {
    # name: (preprocessing_fn, check of the trained values)
    "z_score": (lambda i: {"o": pp.z_score(i["n"])}, lambda v: abs(v.mean()) < 1e-6 and abs(v.std() - 1) < 1e-5),
    "min_max": (lambda i: {"o": pp.min_max(i["n"])}, lambda v: v.min() == 0 and v.max() == 1),
    "log1p": (lambda i: {"o": pp.log1p(i["n"])}, lambda v: np.allclose(v, np.log1p([1, 5, 9, 20, 40]))),
    "clip": (lambda i: {"o": pp.clip(i["n"], 2, 10)}, lambda v: list(v) == [2, 5, 9, 10, 10]),
    "clip_to_quantiles": (lambda i: {"o": pp.clip_to_quantiles(i["n"], 0.2, 0.8, resolution=10)}, lambda v: v[0] > 1 and v.max() <= 40),  # 1 is raised to the 20% quantile
    "bucketize": (lambda i: {"o": pp.bucketize(i["n"], [4, 10])}, lambda v: list(v) == [0, 1, 1, 2, 2]),
    "bucketize_quantiles": (lambda i: {"o": pp.bucketize_quantiles(i["n"], 2)}, lambda v: set(v) == {0, 1} and list(v) == sorted(v)),
    "quantile_bucket_ids": (lambda i: {"o": pp.quantile_bucket_ids(i["x"], 2)}, lambda v: v[2] == 2 and list(v[[0, 1, 3, 4]]) == sorted(v[[0, 1, 3, 4]]) and set(v[[0, 4]]) == {0, 1}),  # missing: a bucket of its own
    "location_cross": (lambda i: {"o": pp.location_cross(i["x"], i["n"], 2, 16)}, lambda v: v[0] != v[4] and all(0 <= x < 16 for x in v)),
    "impute_mean": (lambda i: {"o": pp.impute_mean(i["x"])}, lambda v: v[2] == pytest.approx((1 + 2 + 6 + 100) / 4)),
    "impute_median": (lambda i: {"o": pp.impute_median(i["x"])}, lambda v: 2 <= v[2] <= 6),
    "impute_category": (lambda i: {"o": pp.vocabulary(pp.impute_category(i["c"]), num_oov_buckets=1)}, lambda v: len(set(v)) == 4),
    "vocabulary_frequency_threshold": (lambda i: {"o": pp.vocabulary(i["c"], num_oov_buckets=1, frequency_threshold=2)}, lambda v: v[0] == v[1] == 0 and v[3] == v[4] == 1),
    "hashed": (lambda i: {"o": pp.hashed(i["c"], 8)}, lambda v: v[0] == v[1] and all(0 <= x < 8 for x in v)),
    "hashed_cross_of_three": (lambda i: {"o": pp.hashed_cross([pp.impute_category(i["c"]), pp.dense(i["n"], 0), pp.dense(i["text"], "")], 50)}, lambda v: len(set(v)) >= 4),
    "pca": (lambda i: {"o": pp.pca([i["n"], pp.dense(i["x"], 0.0)], 1)[:, 0]}, lambda v: abs(v.mean()) < 1e-5 and v.std() > 0.5),
}


def all_helpers(inputs):
    """Every case's output, the tf-idf pair and the integer outputs, in one preprocessing_fn."""
    outputs = {name: make(inputs)["o"] for name, (make, _) in CASES.items()}
    outputs["tfidf_ids"], outputs["tfidf_weights"] = pp.tfidf(inputs["text"], vocab_size=20)
    outputs["ids_bucketized"] = pp.bucketize(inputs["n"], [4, 10])
    outputs["ids_hashed"] = pp.hashed(inputs["c"], 8)
    outputs["ids_vocabulary"] = pp.vocabulary(inputs["c"], num_oov_buckets=2)
    return outputs


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """One TFT analysis of every helper: (Beam outputs, saved-graph outputs, output dir)."""
    out = tmp_path_factory.mktemp("preprocessing")
    batch_rows, served = train_and_serve(all_helpers, out)
    return batch_rows, served, out


@pytest.mark.parametrize("name", sorted(CASES))
def test_helper_gives_the_same_values_in_training_and_at_serving(name, analyzed):
    batch_rows, served, _ = analyzed
    _, check = CASES[name]
    trained = assert_identical(batch_rows, served, name)
    assert check(trained), trained


def test_tfidf_weights_are_the_same_in_training_and_at_serving(analyzed):
    batch_rows, served, _ = analyzed
    for position, row in enumerate(batch_rows):
        count = len(row["tfidf_weights"])
        assert count > 0
        np.testing.assert_allclose(row["tfidf_weights"], served["tfidf_weights"][position][:count], rtol=1e-6)
        assert list(row["tfidf_ids"]) == list(served["tfidf_ids"][position][:count])
    # "the" is in 3 of 5 documents, "end" in 1: the rarer word weighs more in the last row.
    assert max(batch_rows[3]["tfidf_weights"]) > min(batch_rows[3]["tfidf_weights"])


def test_integer_outputs_record_their_number_of_ids(analyzed):
    batch_rows, served, out = analyzed
    output = tft.TFTransformOutput(str(out / "out"))
    assert output.num_buckets_for_transformed_feature("ids_bucketized") == 3
    assert output.num_buckets_for_transformed_feature("ids_hashed") == 8
    assert output.num_buckets_for_transformed_feature("ids_vocabulary") == 4 + 2  # red, blue, green, __missing__ + 2 OOV
    assert output.num_buckets_for_transformed_feature("quantile_bucket_ids") == 2 + 1  # and one for missing
    assert output.num_buckets_for_transformed_feature("location_cross") == 16
    for key in ("ids_bucketized", "ids_hashed", "ids_vocabulary"):
        assert_identical(batch_rows, served, key)
