"""ExampleGen reads CSV and writes TFRecords of tf.Example without importing TensorFlow
(whose import was most of an ExampleGen task's process), and TensorFlow reads them back."""

import glob
import os
import subprocess
import sys

import pytest

from sluice.artifacts import read_artifact
from tests.helpers import CENSUS_SAMPLE_TRAIN, ROOT

_SCRIPT = """
import sys
from pathlib import Path
from bench.common import example_gen_artifact
from sluice.process import exit_now
uri = example_gen_artifact(Path(sys.argv[1]), Path(sys.argv[2]))
print("URI", uri)
print("TENSORFLOW", "tensorflow" in sys.modules, flush=True)
exit_now(0)
"""


@pytest.mark.beam
def test_example_gen_writes_tfrecords_tensorflow_reads_without_importing_it(tmp_path):
    import tensorflow as tf

    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(CENSUS_SAMPLE_TRAIN), str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if line.startswith(("URI ", "TENSORFLOW ")))
    assert found["TENSORFLOW"] == "False"

    artifact = read_artifact(found["URI"])
    files = sorted(glob.glob(artifact.file("train", "data-*.tfrecord")))
    # TFRecordDataset checks each record's length and data checksums as it reads.
    records = [record.numpy() for record in tf.data.TFRecordDataset(files)]
    rows = [line for line in CENSUS_SAMPLE_TRAIN.read_text().splitlines() if line.strip()]
    assert len(records) == artifact.properties["rows"]["written"] == len(rows) == 600
    ages = sorted(tf.train.Example.FromString(record).features.feature["age"].int64_list.value[0] for record in records)
    assert ages == sorted(int(row.split(",")[0]) for row in rows)
