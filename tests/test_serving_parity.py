"""Raw rows through an exported SavedModel (the best model's and the ensemble's), in a
fresh process, equal the Evaluator's path.

The Evaluator scores Transform's batch output (Beam) through the model; serving parses
raw tf.Example and applies the transform graph inside the SavedModel. Both must give the
same probability for every row, and serving must not need the Transform artifact.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from components.evaluator import score_split

SERVE_IN_FRESH_PROCESS = r"""
import glob, json, sys
import tensorflow as tf
from sluice.modeling.export import load_serving_model, predict_raw

model_dir, examples_glob = sys.argv[1], sys.argv[2]
rows = []
for record in tf.data.TFRecordDataset(sorted(glob.glob(examples_glob))):
    example = tf.train.Example.FromString(record.numpy())
    del example.features.feature["income_bracket"]  # a client never sends the label
    rows.append(example)
unseen = tf.train.Example()
unseen.CopyFrom(rows[0])
unseen.features.feature["workclass"].bytes_list.value[:] = [b"Never-seen-before"]
model = load_serving_model(model_dir)
probabilities = predict_raw(model, [r.SerializeToString() for r in rows])
unseen_probability = predict_raw(model, [unseen.SerializeToString()])
print(json.dumps({"probabilities": probabilities.tolist(), "unseen": float(unseen_probability[0])}))
"""


@pytest.mark.parametrize("exported", ["serving_model", "ensemble_model"])
def test_served_raw_rows_match_the_transformed_path(artifact, tmp_path, exported):
    model_dir = artifact("trainer").file(exported)
    examples, transform = artifact("example_gen"), artifact("transform")
    labels, batch_probabilities = score_split(model_dir, transform, "test", "income_bracket", 128)

    hidden = tmp_path / "transform_moved_away"
    transform.path.rename(hidden)  # serving must not read the Transform artifact
    try:
        completed = subprocess.run(
            [sys.executable, "-c", SERVE_IN_FRESH_PROCESS, model_dir, examples.file("test", "data-*.tfrecord")],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        hidden.rename(transform.path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    served = json.loads(completed.stdout.strip().splitlines()[-1])

    served_probabilities = np.array(served["probabilities"])
    assert len(served_probabilities) == len(batch_probabilities) == examples.properties["splits"]["test"]["rows"]
    # Row order is not kept by Beam; each row's probability must appear on both sides.
    np.testing.assert_allclose(np.sort(served_probabilities), np.sort(batch_probabilities), atol=1e-5)
    assert np.std(served_probabilities) > 1e-3  # the rows are not all scored alike
    assert 0.0 < served["unseen"] < 1.0  # an unseen category goes to the OOV bucket, not an error
