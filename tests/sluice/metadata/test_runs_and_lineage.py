"""`sluice runs` and `sluice lineage` on the shared census run: what its store recorded."""

import hashlib
import json
from pathlib import Path

from sluice.metadata.history import format_history, run_history
from sluice.metadata.lineage import format_lineage, lineage
from sluice.metadata.store import MetadataStore
from sluice.serving.pushed_model import PushedModel
from tests.helpers import CENSUS_SAMPLE_TRAIN, sluice


def _store(census_run) -> MetadataStore:
    return MetadataStore.for_home(census_run.config.home)


def _nodes(node):
    yield node
    for child in node.get("inputs", {}).values():
        yield from _nodes(child)


def test_runs_lists_the_run_with_its_components_metric_and_push(census_run, artifact):
    (run,) = run_history(_store(census_run), "census")
    pushed = PushedModel.of(artifact("pusher"))
    evaluation = artifact("evaluator").properties["metrics"]
    assert run["run_id"] == "shared" and run["status"] == "succeeded" and run["pushed_version"] == pushed.version
    assert [c["component"] for c in run["components"]] == [c.component for c in census_run.result.outcomes]
    assert all(c["status"] == "succeeded" and c["seconds"] >= 0 for c in run["components"])
    assert run["metric"] == {"name": "accuracy", "value": evaluation["accuracy"]}

    completed = sluice("runs", "census", "--home", census_run.config.home)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == format_history([run]) + "\n"
    table_row = completed.stdout.splitlines()[2].split()
    assert table_row[0] == "shared" and "succeeded" in table_row and str(pushed.version) in table_row


def test_lineage_of_the_pushed_version_reaches_data_search_evaluation_and_push(census_run, artifact):
    version = PushedModel.of(artifact("pusher")).version
    completed = sluice("lineage", f"census@{version}", "--home", census_run.config.home, "--json")
    assert completed.returncode == 0, completed.stderr
    tree = json.loads(completed.stdout)
    assert tree["type"] == "PushedModel" and tree["details"]["version"] == version and tree["details"]["blessed"] is True
    by_type = {node["type"]: node for node in _nodes(tree) if not node.get("shown_above")}
    assert {"Examples", "Statistics", "Schema", "TransformGraph", "HyperParameters", "Model", "ModelEvaluation"} <= set(by_type)

    files = by_type["Examples"]["details"]["files"]
    assert files[str(CENSUS_SAMPLE_TRAIN)] == hashlib.sha256(CENSUS_SAMPLE_TRAIN.read_bytes()).hexdigest()
    tuner = by_type["HyperParameters"]["details"]
    trials = json.loads(Path(artifact("tuner").file("trials.json")).read_text())
    assert [t["trial_id"] for t in tuner["trials"]] == [t["trial_id"] for t in trials]
    assert tuner["hyperparameters"] == artifact("tuner").properties["hyperparameters"]
    assert by_type["ModelEvaluation"]["details"]["metrics"] == artifact("evaluator").properties["metrics"]
    assert by_type["TransformGraph"]["execution"]["component"] == "transform"
    assert by_type["TransformGraph"]["fingerprint"] == artifact("transform").fingerprint

    text = format_lineage(lineage(_store(census_run), artifact("transform").uri))
    assert text.splitlines()[0].startswith(f"TransformGraph {artifact('transform').uri}")
    assert f"file {CENSUS_SAMPLE_TRAIN}" in text and "<- examples: Examples" in text and "(shown above)" in text
