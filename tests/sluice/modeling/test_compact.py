"""A Keras model part converts to TFLite float16 and dynamic-range int8 and predicts as
the SavedModel's `predict_transformed` does; raw rows reach it through the SavedModel's
`transform_features` signature.

Tolerances on P(positive): float16 weights 1e-3, int8 weights 0.03 (measured: about 1e-4
and 3e-3 on an untrained Wide & Deep, 1e-4 and 0.017 on the sample run's trained one).
"""

import glob

import numpy as np
import pytest

from sluice.modeling import families
from sluice.modeling.compact import TfliteModel, convert
from sluice.modeling.datasets import model_features
from sluice.modeling.export import export_serving_model, load_serving_model, predict_raw, predict_transformed, transform_raw
from sluice.modeling.fitting import Budget, fit, split_reader

LABEL = "income_bracket"
TOLERANCE = {"float16": 1e-3, "int8": 0.03}


@pytest.fixture(scope="module")
def saved_dnn(census_run, tmp_path_factory):
    from sluice.artifacts import read_artifact

    transform = read_artifact(census_run.result.uri("transform"))
    tmp_path = tmp_path_factory.mktemp("compact")
    import keras

    keras.utils.set_random_seed(1)
    model = families.dnn(model_features(transform, LABEL), units=16, layers=1)
    evaluation = split_reader(transform, "eval", LABEL)(64, False, False, None)
    fit(model, split_reader(transform, "train", LABEL), evaluation, Budget(steps=10, batch_size=64), seed=1)
    export_serving_model([model], transform.uri, LABEL, str(tmp_path / "dnn"))
    return load_serving_model(str(tmp_path / "dnn"))


@pytest.fixture(scope="module")
def flatbuffers(saved_dnn):
    return {form: convert(saved_dnn, form) for form in TOLERANCE}


def test_tflite_forms_predict_like_the_saved_model(artifact, saved_dnn, flatbuffers):
    features, _ = next(iter(split_reader(artifact("transform"), "test", LABEL)(1000, False, False, None)))
    expected = predict_transformed(saved_dnn, features)
    assert len(expected) == artifact("transform").properties["splits"]["test"]["rows"] and np.std(expected) > 1e-3
    as_numpy = {name: value.numpy() for name, value in features.items()}
    for form, tolerance in TOLERANCE.items():
        compact = TfliteModel(flatbuffers[form])
        assert compact.input_names == sorted(features)  # one input per transformed feature, by name
        np.testing.assert_allclose(compact.predict(as_numpy), expected, atol=tolerance)
        # Resized down to one row, and back: each batch size answers the same.
        one_row = compact.predict({name: value[3:4] for name, value in as_numpy.items()})
        np.testing.assert_allclose(one_row, expected[3:4], atol=tolerance)
        np.testing.assert_allclose(compact.predict(as_numpy), expected, atol=tolerance)


def test_raw_rows_go_through_the_transform_signature_into_the_tflite_model(artifact, saved_dnn, flatbuffers):
    import tensorflow as tf

    raw = []
    for record in tf.data.TFRecordDataset(sorted(glob.glob(artifact("example_gen").file("test", "data-*.tfrecord")))):
        example = tf.train.Example.FromString(record.numpy())
        del example.features.feature[LABEL]  # a client never sends the label
        raw.append(example.SerializeToString())
    compact = TfliteModel(flatbuffers["float16"])
    transformed = transform_raw(saved_dnn, raw)
    assert sorted(transformed) == compact.input_names
    np.testing.assert_allclose(compact.predict(transformed), predict_raw(saved_dnn, raw), atol=TOLERANCE["float16"])


def test_an_unknown_form_is_refused():
    with pytest.raises(ValueError, match="no TFLite form 'int4'"):
        convert(None, "int4")
