import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS, LABEL_KEY, NUMERIC_FEATURE_KEYS
from pipelines.census.preprocessing import AGE_BUCKETS, CROSS_BUCKETS, OOV_BUCKETS, preprocessing_fn

# The raw spec as the reviewed schema gives it: workclass/occupation/native_country may be missing.
OPTIONAL = {"workclass", "occupation", "native_country"}
RAW_SPEC = {
    **{k: tf.io.FixedLenFeature([1], tf.int64) for k in NUMERIC_FEATURE_KEYS},
    **{k: (tf.io.VarLenFeature(tf.string) if k in OPTIONAL else tf.io.FixedLenFeature([1], tf.string)) for k in CATEGORICAL_FEATURE_KEYS},
    LABEL_KEY: tf.io.FixedLenFeature([1], tf.string),
}


def raw_row(age, education, occupation, label, workclass=("Private",)):
    row = {k: [10] for k in NUMERIC_FEATURE_KEYS}
    row.update({k: [b"x"] for k in CATEGORICAL_FEATURE_KEYS})
    row.update(age=[age], education=[education], occupation=occupation, workclass=list(workclass), income_bracket=[label])
    return row


TRAIN = [
    raw_row(20, b"HS-grad", [b"Sales"], b"<=50K"),
    raw_row(30, b"HS-grad", [b"Sales"], b">50K"),
    raw_row(40, b"Bachelors", [b"Tech-support"], b"<=50K", workclass=()),
    raw_row(50, b"Masters", [], b">50K"),
]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    unseen = [raw_row(60, b"Doctorate", [b"Sales"], b">50K")]
    with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft"))):
        (train_rows, _), transform_fn = (TRAIN, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        unseen_rows, _ = ((unseen, metadata), transform_fn) | tft_beam.TransformDataset()
    return train_rows, unseen_rows


def test_numerics_are_z_scored_with_training_statistics(transformed):
    train, unseen = transformed
    ages = np.array([row["age"] for row in train])
    assert ages.mean() == pytest.approx(0, abs=1e-6)
    assert ages.std() == pytest.approx(1, abs=1e-5)
    # 60 is scored with the training mean 35 and standard deviation sqrt(125).
    assert unseen[0]["age"] == pytest.approx((60 - 35) / np.sqrt(125), rel=1e-5)


def test_categoricals_map_to_vocabulary_ids_with_an_oov_bucket(transformed):
    train, unseen = transformed
    education_ids = [row["education"] for row in train]
    assert education_ids[0] == education_ids[1]  # same word, same id
    assert len(set(education_ids)) == 3
    vocabulary_size = 3
    assert unseen[0]["education"] == vocabulary_size + OOV_BUCKETS - 1  # never seen: the OOV bucket
    # A missing value is its own category, not an error.
    assert train[2]["workclass"] != train[0]["workclass"]


def test_age_buckets_cross_and_label(transformed):
    train, _ = transformed
    assert all(0 <= row["age_bucket"] < AGE_BUCKETS for row in train)
    assert [row["age_bucket"] for row in train] == sorted(row["age_bucket"] for row in train)
    crosses = [row["education_x_occupation"] for row in train]
    assert all(0 <= c < CROSS_BUCKETS for c in crosses) and crosses[0] == crosses[1] != crosses[2]
    assert [row[LABEL_KEY] for row in train] == [0, 1, 0, 1]
