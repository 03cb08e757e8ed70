import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS, LABEL_KEY, NUMERIC_FEATURE_KEYS
from pipelines.census.preprocessing import AGE_BUCKETS, CROSS_BUCKETS, preprocessing_fn

pytestmark = [pytest.mark.beam, pytest.mark.xdist_group("census_preprocessing")]  # one TFT analysis per module

# The raw spec as the reviewed schema gives it: workclass/occupation/native_country may be missing.
OPTIONAL = {"workclass", "occupation", "native_country"}
RAW_SPEC = {
    **{k: tf.io.FixedLenFeature([1], tf.int64) for k in NUMERIC_FEATURE_KEYS},
    **{k: (tf.io.VarLenFeature(tf.string) if k in OPTIONAL else tf.io.FixedLenFeature([1], tf.string)) for k in CATEGORICAL_FEATURE_KEYS},
    LABEL_KEY: tf.io.FixedLenFeature([1], tf.string),
}


def raw_row(age, education, occupation=(b"Sales",), label=b"<=50K", workclass=(b"Private",), capital_gain=0):
    row = {k: [10] for k in NUMERIC_FEATURE_KEYS}
    row.update({k: [b"x"] for k in CATEGORICAL_FEATURE_KEYS})
    row.update(age=[age], education=[education], occupation=list(occupation), workclass=list(workclass),
               income_bracket=[label], capital_gain=[capital_gain])
    return row


TRAIN = (
    [raw_row(20 + i, b"HS-grad", label=b">50K" if i % 2 else b"<=50K") for i in range(6)]
    + [raw_row(40 + i, b"Bachelors", occupation=(), workclass=() if i == 0 else (b"Private",), capital_gain=10 ** i) for i in range(5)]
    + [raw_row(70, b"Masters")]
)


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    unseen = [raw_row(60, b"Doctorate")]
    with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft"))):
        (train_rows, _), transform_fn = (TRAIN, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        unseen_rows, _ = ((unseen, metadata), transform_fn) | tft_beam.TransformDataset()
    return train_rows, unseen_rows


def test_numerics_are_z_scored_with_training_statistics(transformed):
    train, unseen = transformed
    ages = np.array([row["age"] for row in train])
    assert ages.mean() == pytest.approx(0, abs=1e-6) and ages.std() == pytest.approx(1, abs=1e-5)
    raw_ages = np.array([r["age"][0] for r in TRAIN], dtype=float)
    assert unseen[0]["age"] == pytest.approx((60 - raw_ages.mean()) / raw_ages.std(), rel=1e-5)
    gains = np.array([row["capital_gain"] for row in train])
    assert gains.mean() == pytest.approx(0, abs=1e-5)  # log-scaled, then z-scored
    # log-scaled: 100 -> 1000 -> 10000 are equal steps, not a 10x larger one
    assert gains[10] - gains[9] == pytest.approx(gains[9] - gains[8], rel=0.01)


def test_categoricals_use_a_training_vocabulary_with_an_oov_bucket(transformed):
    train, unseen = transformed
    education = [row["education"] for row in train]
    assert len(set(education[:6])) == 1 and len(set(education[6:11])) == 1
    assert education[:6][0] == 0 and education[6] == 1 and education[11] == 2  # by training frequency: 6, 5, 1
    assert unseen[0]["education"] == 3  # never seen: the OOV bucket after the 3 known values
    # A missing value is an explicit category, not an error and not the OOV bucket.
    occupations = [row["occupation"] for row in train]
    assert occupations[6] == occupations[7] != occupations[0]


def test_age_buckets_crosses_and_label(transformed):
    train, _ = transformed
    buckets = [row["age_bucket"] for row in train]
    assert all(0 <= b < AGE_BUCKETS for b in buckets) and buckets == sorted(buckets)
    crosses = [row["education_x_occupation"] for row in train]
    assert all(0 <= c < CROSS_BUCKETS for c in crosses) and crosses[0] == crosses[1] != crosses[6]
    assert [row[LABEL_KEY] for row in train][:6] == [0, 1, 0, 1, 0, 1]
