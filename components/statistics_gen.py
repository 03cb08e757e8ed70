"""StatisticsGen: TFDV statistics for every split, computed as one Beam job over the files.

Each split is read from ExampleGen's Parquet copy when there is one (the rows of the
TFRecords, columnar: TFDV's generators work on Arrow, so no tf.Example is decoded), else
from its TFRecords. Either way the example count must equal the rows ExampleGen wrote.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from components.example_gen.artifact import Examples
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.contract import ComponentSpec
from sluice.errors import RowCountMismatch
from sluice.validation.statistics import Statistics, StatisticsSplit, stats_options


@dataclasses.dataclass(frozen=True)
class Params:
    """StatisticsGen has no parameters yet; `stats_options()` applies."""


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import tensorflow_data_validation as tfdv
    from tfx_bsl.public import tfxio

    from sluice.beam.columnar import ReadColumnarCopy
    from sluice.beam.jobs import new_pipeline, run_and_count

    examples = inputs["examples"]
    splits = Examples.of(examples).splits
    pipeline = new_pipeline(beam_args, worker_imports=["tensorflow_data_validation"])
    for name, split in splits.items():
        if split.columnar_pattern:  # the same rows, columnar: no tf.Example to decode per row
            source = ReadColumnarCopy(examples.file(split.columnar_pattern))
        else:
            source = tfxio.TFExampleRecord(examples.file(split.pattern), telemetry_descriptors=["sluice", "statistics_gen"]).BeamSource()
        _ = (
            pipeline
            | f"Read{name.title()}Examples" >> source
            | f"Generate{name.title()}Statistics" >> tfdv.GenerateStatistics(stats_options())
            | f"Write{name.title()}Statistics" >> tfdv.WriteStatisticsToBinaryFile(output.file(Statistics.split_file(name)))
        )
    run_and_count(pipeline, "statistics_gen")

    counted = {}
    for name, split in splits.items():
        stats = tfdv.load_stats_binary(output.file(Statistics.split_file(name)))
        count = int(stats.datasets[0].num_examples) if stats.datasets else 0
        if count != split.rows:
            raise RowCountMismatch(
                f"StatisticsGen: split {name!r} has {count} examples in its statistics but "
                f"ExampleGen wrote {split.rows}"
            )
        counted[name] = StatisticsSplit(num_examples=count, file=Statistics.split_file(name))
    Statistics(splits=counted).write(output)


SPEC = ComponentSpec(run=run, params=Params, output=Statistics, inputs={"examples": Examples})
