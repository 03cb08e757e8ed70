"""Networks keep all categoricals' embedding rows in one table per width: each feature
still reads its own rows (ids offset past the features before it)."""

import numpy as np

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures


def test_each_categorical_reads_its_own_rows_of_the_shared_table():
    features = ModelFeatures(numeric=(), categorical={"a": 3, "b": 2}, label="y")
    model = families.linear(features)
    table = model.get_layer("linear_categorical_weights")
    assert table.input_dim == 5  # the two features' rows, one table
    table.set_weights([np.arange(5, dtype="float32").reshape(5, 1) / 10])
    logits = {}
    for a, b in ((0, 0), (1, 1), (2, 0), (2, 1)):
        p = float(np.asarray(model({"a": np.array([a]), "b": np.array([b])}, training=False)).ravel()[0])
        logits[(a, b)] = round(float(np.log(p / (1 - p))), 4)
    assert logits == {(0, 0): 0.3, (1, 1): 0.5, (2, 0): 0.5, (2, 1): 0.6}  # a's id i: row i; b's id j: row 3 + j


def test_deep_tables_are_one_per_width():
    features = ModelFeatures(numeric=("x",), categorical={"a": 50, "b": 20, "c": 3}, label="y")
    model = families.dnn(features, embedding_dim=8)
    tables = {layer.name: (layer.input_dim, layer.output_dim) for layer in model.layers if type(layer).__name__ == "Embedding"}
    assert tables == {"embeddings_8": (70, 8), "embeddings_3": (3, 3)}
