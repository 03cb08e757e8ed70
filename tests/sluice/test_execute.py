"""Running one component: sealing, reuse on retry, and the child-process path."""

import dataclasses
from pathlib import Path

import pytest

from sluice.artifacts import ArtifactError, ArtifactProperties, read_artifact
from sluice.config import ConfigError
from sluice.contract import ComponentSpec
from sluice.execute import ComponentFailed, execute, run_in_child
from sluice.pipeline import Component

ENTRY = "tests.sluice.test_execute:SPEC"


@dataclasses.dataclass(frozen=True)
class Params:
    text: str
    fail: bool = False


def run(inputs, output, params, beam_args):
    """A component that copies its upstream's text and appends its own."""
    if params.fail:
        raise ValueError(f"refusing to write {params.text!r}")
    upstream = "".join(Path(a.file("out.txt")).read_text() for a in inputs.values())
    Path(output.file("out.txt")).write_text(upstream + params.text)
    Text(length=len(upstream + params.text)).write(output)


class Text(ArtifactProperties):
    length: int


SPEC = ComponentSpec(run=run, params=Params, output=Text, inputs={"up": Text}, optional={"up"})


def test_execute_seals_output_with_inputs_and_beam_args(tmp_path):
    first = execute(Component("a", ENTRY, params={"text": "x"}), tmp_path, {})
    second = execute(Component("b", ENTRY, {"up": "a"}, {"text": "y"}), tmp_path, {"up": first.uri})
    artifact = read_artifact(second.uri)
    assert Path(artifact.file("out.txt")).read_text() == "xy"
    assert artifact.properties["length"] == 2
    assert artifact.inputs == {"up": read_artifact(first.uri).fingerprint}
    assert artifact.properties["beam_args"] == ["--runner=DirectRunner", "--direct_running_mode=in_memory"]


def test_a_retry_reuses_the_finished_artifact_and_other_params_are_refused(tmp_path):
    component = Component("a", ENTRY, params={"text": "x"})
    first = execute(component, tmp_path, {})
    again = execute(component, tmp_path, {})
    assert again.reused and not first.reused
    assert read_artifact(again.uri).fingerprint == read_artifact(first.uri).fingerprint
    with pytest.raises(ArtifactError, match="other inputs or parameters"):
        execute(Component("a", ENTRY, params={"text": "changed"}), tmp_path, {})


def test_unknown_parameters_are_refused_by_the_components_params():
    with pytest.raises(ConfigError, match="component 'a': .*'colour'"):
        execute(Component("a", ENTRY, params={"text": "x", "colour": "red"}), "/nonexistent", {})


def test_child_process_runs_the_component_and_reports_its_error(tmp_path):
    outcome = run_in_child(Component("a", ENTRY, params={"text": "child"}), str(tmp_path), {})
    assert Path(outcome.uri, "out.txt").read_text() == "child"
    with pytest.raises(ComponentFailed, match="component 'b' failed: ValueError: refusing to write 'no'"):
        run_in_child(Component("b", ENTRY, params={"text": "no", "fail": True}), str(tmp_path), {})
    assert not (tmp_path / "b").exists()
