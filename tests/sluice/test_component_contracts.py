"""Component contracts: declared inputs and outputs, wiring checked before any work, typed
artifact properties, `after` edges, and one rule for which way a metric is better.

No TensorFlow is needed: specs load without it and nothing here runs a component's work.
"""

import ast
import dataclasses
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from components.example_gen.artifact import Examples
from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.artifacts import ArtifactError, read_artifact, write_artifact
from sluice.config import ConfigError, apply_overrides
from sluice.contract import ComponentSpec, ContractError
from sluice.execute import execute
from sluice.modeling.metrics import best_first, objective_direction
from sluice.pipeline import Pipeline, PipelineError, load_object
from tests.helpers import ROOT


def census():
    return create_pipeline(CensusConfig(home="/nonexistent"))


def rewired(name, **changes):
    """The census pipeline with component `name` changed, rebuilt (so checked) again."""
    pipeline = census()
    components = tuple(dataclasses.replace(c, **changes) if c.name == name else c for c in pipeline.components)
    return Pipeline(pipeline.name, components)


def transform_inputs(**inputs):
    return {"examples": "example_gen", "schema": "schema_gen", "statistics": "statistics_gen", **inputs}


def test_an_input_wired_to_an_artifact_of_another_type_is_named():
    with pytest.raises(
        PipelineError, match=r"pipeline 'census': transform.schema expects a Schema artifact but statistics_gen produces Statistics"
    ):
        rewired("transform", inputs=transform_inputs(schema="statistics_gen"))


def test_a_missing_required_input_is_named():
    inputs = transform_inputs()
    del inputs["examples"]
    with pytest.raises(PipelineError, match=r"pipeline 'census': transform: missing input 'examples'$"):
        rewired("transform", inputs=inputs)


def test_an_optional_input_may_be_left_out_but_a_required_one_may_not():
    spec = census().component("transform").load_spec()
    assert "statistics" in spec.optional and "examples" not in spec.optional
    inputs = transform_inputs()
    del inputs["statistics"]
    rewired("transform", inputs=inputs)  # builds: the wiring check accepts it


def test_an_undeclared_input_is_named_with_the_declared_ones():
    inputs = transform_inputs(exmples="example_gen")
    del inputs["examples"]
    with pytest.raises(PipelineError, match=r"unknown input 'exmples' \(declared: examples, schema, statistics\)"):
        rewired("transform", inputs=inputs)


def test_after_must_name_an_earlier_component():
    with pytest.raises(PipelineError, match=r"transform runs after 'pusher', which is not an earlier component"):
        rewired("transform", after=("pusher",))


def test_a_spec_path_that_is_not_a_component_spec_is_refused():
    with pytest.raises(PipelineError, match=r"'components.pusher:run' is not a ComponentSpec"):
        rewired("pusher", spec="components.pusher:run")


def test_parameters_are_checked_when_the_pipeline_is_built():
    params = {**census().component("trainer").params, "train_stesp": 5}
    with pytest.raises(ConfigError, match=r"component 'trainer': .*'train_stesp'"):
        rewired("trainer", params=params)


def test_validation_gates_are_ordering_edges_not_inputs():
    pipeline = census()
    transform, pusher = pipeline.component("transform"), pipeline.component("pusher")
    assert transform.after == ("example_validator",) and "example_validator" not in transform.inputs.values()
    assert pusher.after == ("skew_validator",) and "skew_validator" not in pusher.inputs.values()
    assert {("example_validator", "transform"), ("skew_validator", "pusher")} <= pipeline.edges()


def read_input_names(run) -> set[str]:
    """The names `run` reads from `inputs`: inputs["x"], inputs.get("x"), "x" in inputs."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(run)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "inputs":
            names.add(node.slice.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", None) == "inputs":
            names.add(node.args[0].value)
        elif isinstance(node, ast.Compare) and getattr(node.comparators[0], "id", None) == "inputs":
            names.add(node.left.value)
    return names


@pytest.mark.parametrize("component", [c.name for c in census().components])
def test_every_declared_input_is_read_by_the_component(component):
    spec = census().component(component).load_spec()
    assert set(spec.inputs) <= read_input_names(spec.run)


def test_a_spec_names_only_declared_inputs_as_optional():
    with pytest.raises(ContractError, match=r"optional inputs \['extra'\] are not declared"):
        ComponentSpec(run=print, params=dict, output=Examples, inputs={}, optional={"extra"})


def sealed(path, type, **properties):
    with write_artifact(path, type=type, producer="test") as draft:
        draft.properties.update(properties)
    return str(path)


def test_execute_refuses_an_input_artifact_of_another_type_before_any_work(tmp_path):
    statistics = sealed(tmp_path / "statistics", "Statistics", splits={})
    inputs = {"examples": statistics, "schema": statistics}
    with pytest.raises(ContractError, match=r"component 'transform': input 'examples' expects an Examples artifact but .*statistics is a Statistics"):
        execute(census().component("transform"), tmp_path / "run", inputs)
    with pytest.raises(ContractError, match=r"component 'transform': missing input 'schema'"):
        execute(census().component("transform"), tmp_path / "run", {"examples": statistics})
    assert not (tmp_path / "run").exists()


def test_a_typed_view_names_the_wrong_type_and_the_missing_property(tmp_path):
    statistics = read_artifact(sealed(tmp_path / "statistics", "Statistics", splits={}))
    with pytest.raises(ArtifactError, match="is a Statistics artifact, not an Examples"):
        Examples.of(statistics)
    incomplete = read_artifact(sealed(tmp_path / "examples", "Examples", splits={"train": {"pattern": "train/*"}}))
    with pytest.raises(ArtifactError, match=r"not those of an Examples(.|\n)*splits.train.rows"):
        Examples.of(incomplete)


def test_a_typed_view_reads_back_what_its_writer_wrote(tmp_path):
    with write_artifact(tmp_path / "examples", type="Examples", producer="test") as draft:
        Examples(splits={"train": {"rows": 3, "pattern": "train/data-*"}}).write(draft)
        draft.properties["extra"] = "kept in artifact.json, not in the view"
    examples = read_artifact(tmp_path / "examples")
    split = Examples.of(examples).splits["train"]
    assert (split.rows, split.pattern, split.columnar_pattern, split.spans) == (3, "train/data-*", None, {})
    assert examples.properties["extra"] and Examples.of(examples).rows is None


def test_a_loss_is_minimised_and_a_score_maximised():
    assert objective_direction("log_loss") == "min"
    assert objective_direction("accuracy") == objective_direction("auc") == "max"
    with pytest.raises(ValueError, match="no metric 'f1'"):
        objective_direction("f1")
    scores = {"a": 0.3, "b": 0.1, "c": 0.2}
    assert best_first(scores, "log_loss", scores.get) == ["b", "c", "a"]
    assert best_first(scores, "auc", scores.get) == ["a", "c", "b"]


def test_the_census_config_accepts_only_metrics_with_a_direction():
    assert apply_overrides(CensusConfig(home="/h"), ["tuner.objective=auc"]).tuner.objective == "auc"
    with pytest.raises(ConfigError, match="no metric 'f1'"):
        apply_overrides(CensusConfig(home="/h"), ["tuner.objective=f1"])


def test_the_core_never_imports_a_component():
    offenders = []
    for path in sorted((ROOT / "sluice").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}: {m}" for m in modules if m == "components" or m.startswith("components.")]
            # nor names one by its dotted path, to load it at run time
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("components."):
                offenders.append(f"{path.relative_to(ROOT)}: {node.value!r}")
    assert offenders == []


def test_specs_and_the_wiring_check_load_no_tensorflow_or_beam():
    code = (
        "import json, sys\n"
        "from pipelines.census.pipeline import CensusConfig, create_pipeline\n"
        "pipeline = create_pipeline(CensusConfig(home='/nonexistent'))\n"
        "specs = [c.load_spec() for c in pipeline.components]\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'apache_beam', 'keras', 'tensorflow_transform', "
        "'tensorflow_data_validation', 'keras_tuner') if m in sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_every_producer_recorded_names_a_run_function_that_loads_back():
    # artifact.json records the producer, and the reuse fingerprint hashes it: it must
    # name the run function itself, for every component.
    for component in census().components:
        spec = component.load_spec()
        assert load_object(spec.producer) is spec.run, component.name
    assert census().component("transform").load_spec().producer == "components.transform.component:run"
