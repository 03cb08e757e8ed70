"""The Beam components build a DataflowRunner job from Beam options alone (--dry_run submits
nothing): only credentials, and a gs:// home for artifacts, separate a user from Dataflow."""

import pytest
from apache_beam.options.pipeline_options import GoogleCloudOptions

from pipelines.census.pipeline import create_pipeline
from sluice.beam.jobs import DryRunBuilt
from sluice.execute import execute

DATAFLOW_DRY_RUN = [
    "--runner=DataflowRunner",
    "--project=sluice-example",
    "--region=europe-west1",
    "--temp_location=gs://sluice-example/tmp",
    "--dry_run=True",
]


def step_names(job) -> str:
    """Every transform name in the job's pipeline, as one searchable text."""
    return " ".join(t.unique_name for t in job.proto_pipeline.components.transforms.values())


@pytest.mark.parametrize(
    "component, inputs, expected_steps",
    [
        ("example_gen", {}, ["ListSourceFiles", "ReadBlocks", "ParseSplitWrite", "WriteRejects"]),
        ("statistics_gen", {"examples": "example_gen"}, ["ReadTrainExamples", "GenerateTrainStatistics", "WriteTestStatistics"]),
        ("transform", {"examples": "example_gen", "schema": "schema_gen"}, ["Analyze", "TransformEval", "WriteTransformGraph", "WriteTestTransformed"]),
    ],
)
def test_beam_component_builds_a_dataflow_job_without_submitting(census_run, tmp_path, component, inputs, expected_steps):
    config, result = census_run
    definition = create_pipeline(config).component(component)
    uris = {name: result.uri(upstream) for name, upstream in inputs.items()}
    with pytest.raises(DryRunBuilt) as built:
        execute(definition, tmp_path, uris, DATAFLOW_DRY_RUN)
    job = built.value.job
    assert job.options.view_as(GoogleCloudOptions).project == "sluice-example"
    names = step_names(job)
    for step in expected_steps:
        assert step in names, step
    assert not (tmp_path / component).exists()  # nothing ran, nothing sealed
