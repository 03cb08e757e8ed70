"""Pipelines outside this repository: found through $SLUICE_PIPELINES."""

import json
import os
import subprocess
import sys
import textwrap

from tests.helpers import ROOT

PIPELINE = '''
"""Toy fraud pipeline of a user's own project."""
from components.standard_pipeline import Declaration

PIPELINE = Declaration(
    name="toy_fraud",
    label="fraud",
    columns={"amount": "float", "fraud": "int"},
    data={"train_file": "fraud.csv"},
    preprocessing_fn=f"{__package__}.preprocessing:preprocessing_fn",
    doc=__doc__,
)
'''
PREPROCESSING = '''
def preprocessing_fn(inputs):
    return dict(inputs)
'''
PROBE = '''
import json, sys
from sluice.pipeline import load_object
from sluice.registry import available_pipelines, pipeline_module

module = pipeline_module("toy_fraud")
pipeline = module.create_pipeline(module.Config(home="home"))
function = load_object(pipeline.component("transform").params["preprocessing_fn"])
print(json.dumps({
    "available": available_pipelines(),
    "doc": module.__doc__,
    "function_file": sys.modules[function.__module__].__file__,
    "train_file": pipeline.component("example_gen").params["sources"][0]["pattern"],
}))
'''


def _user_project(tmp_path):
    pipelines = tmp_path / "project" / "my_pipelines" / "toy_fraud"
    pipelines.mkdir(parents=True)
    (pipelines / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (pipelines / "preprocessing.py").write_text(textwrap.dedent(PREPROCESSING))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return pipelines.parent, elsewhere


def test_a_pipeline_in_a_directory_of_sluice_pipelines_is_found_run_from_anywhere(tmp_path):
    pipelines_dir, elsewhere = _user_project(tmp_path)
    # Neither the user's directory nor the working directory is on the import path.
    env = {**os.environ, "SLUICE_PIPELINES": str(pipelines_dir), "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-c", PROBE], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["available"] == ["census", "toy_fraud"]
    assert found["doc"] == "Toy fraud pipeline of a user's own project."
    assert found["function_file"] == str(pipelines_dir / "toy_fraud" / "preprocessing.py")
    # A relative data path is the working directory's, made absolute for other processes.
    assert found["train_file"] == str(elsewhere / "fraud.csv")


def test_the_cli_lists_them_and_names_where_it_looked_for_an_unknown_one(tmp_path):
    pipelines_dir, elsewhere = _user_project(tmp_path)
    env = {**os.environ, "SLUICE_PIPELINES": str(pipelines_dir), "PYTHONPATH": str(ROOT)}
    listed = subprocess.run([sys.executable, "-m", "sluice.cli", "list"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert listed.stdout.split() == ["census", "toy_fraud"], listed.stderr[-2000:]
    unknown = subprocess.run(
        [sys.executable, "-m", "sluice.cli", "predict", "nope"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode == 1
    assert f"no pipeline 'nope' in {pipelines_dir}" in unknown.stderr
