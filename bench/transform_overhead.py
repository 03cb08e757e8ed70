"""Sluice's Transform component against raw tf.Transform doing the same work, in one run.

Both read the same ExampleGen output (census, all 48,842 rows), analyze train with the
census preprocessing_fn, transform train/eval/test, and write the transform graph and the
transformed TFRecords. Sluice runs twice per round: as configured for that same work
(post-transform statistics off), and with its default post-transform statistics, which
raw TFT does not compute. Runs alternate after one warm-up of each; ratios of medians are
printed (goal: Sluice / raw TFT <= 1.10 for the same work).

    .venv/bin/python bench/transform_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.census.pipeline import CensusConfig, create_pipeline  # noqa: E402
from sluice.execute import execute  # noqa: E402
from sluice.process import exit_now  # noqa: E402


def raw_tft_transform(examples_dir: str, schema_file: str, output_dir: str, splits=("train", "eval", "test")) -> None:
    """What a user writes with tf.Transform alone: read, analyze+transform, write."""
    import apache_beam as beam
    import tensorflow_data_validation as tfdv
    import tensorflow_transform.beam as tft_beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder
    from tfx_bsl.public import tfxio

    from pipelines.census.preprocessing import preprocessing_fn

    schema = tfdv.load_schema_text(schema_file)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])
    with beam.Pipeline(options=options) as pipeline, tft_beam.Context(temp_dir=f"{output_dir}/tmp"):
        def read(split):
            source = tfxio.TFExampleRecord(f"{examples_dir}/{split}/data-*.tfrecord", schema=schema)
            return pipeline | f"Read{split}" >> source.BeamSource(), source.TensorAdapterConfig()

        (train, metadata), transform_fn = read("train") | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=True
        )
        outputs = {"train": train}
        for split in splits[1:]:
            outputs[split], _ = (read(split), transform_fn) | f"Transform{split}" >> tft_beam.TransformDataset(
                output_record_batches=True
            )
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
        schema_view = beam.pvalue.AsSingleton(metadata.deferred_metadata | beam.Map(lambda m: m.schema))
        for split, batches in outputs.items():
            _ = (
                batches
                | f"Encode{split}" >> beam.FlatMap(lambda b, s: RecordBatchToExamplesEncoder(s).encode(b[0]), s=schema_view)
                | f"Write{split}" >> beam.io.WriteToTFRecord(f"{output_dir}/transformed/{split}/data", file_name_suffix=".tfrecord")
            )
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(schema), f"{output_dir}/metadata")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="transform_overhead-"))
    pipeline = create_pipeline(CensusConfig(home=str(work)))
    uris: dict[str, str] = {}
    for name in ("example_gen", "statistics_gen", "schema_gen", "example_validator"):
        component = pipeline.component(name)
        inputs = {arg: uris[upstream] for arg, upstream in component.inputs.items()}
        uris[name] = execute(component, work / "setup", inputs).uri
    transform = pipeline.component("transform")
    same_work = dataclasses.replace(transform, params={**transform.params, "post_transform_statistics": False})
    transform_inputs = {arg: uris[upstream] for arg, upstream in transform.inputs.items()}

    def sluice_run(index: int) -> float:
        return execute(same_work, work / f"sluice-{index}", transform_inputs).seconds

    def sluice_with_statistics_run(index: int) -> float:
        return execute(transform, work / f"sluice-stats-{index}", transform_inputs).seconds

    def raw_run(index: int) -> float:
        started = time.monotonic()
        raw_tft_transform(uris["example_gen"], f"{uris['schema_gen']}/schema.pbtxt", str(work / f"raw-{index}"))
        return time.monotonic() - started

    sluice_run(0), sluice_with_statistics_run(0), raw_run(0)  # warm-up: imports, graph tracing, caches
    times: dict[str, list[float]] = {"sluice": [], "sluice + post-transform stats": [], "raw TFT": []}
    for index in range(1, args.repeats + 1):
        times["sluice"].append(sluice_run(index))
        times["sluice + post-transform stats"].append(sluice_with_statistics_run(index))
        times["raw TFT"].append(raw_run(index))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print("\nTransform of census (48,842 rows), DirectRunner in_memory, seconds:")
    for name, values in times.items():
        print(f"  {name:<30} {' '.join(f'{t:6.2f}' for t in values)}   median {medians[name]:6.2f}")
    print(f"  ratio sluice / raw TFT = {medians['sluice'] / medians['raw TFT']:.3f}   (same work; goal <= 1.10)")
    print(f"  ratio sluice + post-transform stats / raw TFT = {medians['sluice + post-transform stats'] / medians['raw TFT']:.3f}")


if __name__ == "__main__":
    main()
    exit_now(0)
