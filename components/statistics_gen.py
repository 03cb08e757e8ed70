"""StatisticsGen: TFDV statistics for every split, computed as one Beam job over the files.

Each split is read from ExampleGen's Parquet copy when there is one (the rows of the
TFRecords, columnar: TFDV's generators work on Arrow, so no tf.Example is decoded), else
from its TFRecords. Either way the example count must equal the rows ExampleGen wrote.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactDraft
from sluice.errors import RowCountMismatch
from sluice.validation.statistics import STATS_FILE


@dataclasses.dataclass(frozen=True)
class Params:
    """StatisticsGen has no parameters yet; TFDV's defaults apply."""


def split_patterns(examples: Artifact) -> dict[str, str]:
    """Split name -> glob of its TFRecord files, from an examples artifact."""
    return {name: examples.file(split["pattern"]) for name, split in examples.properties["splits"].items()}


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import tensorflow_data_validation as tfdv
    from tfx_bsl.public import tfxio

    from sluice.beam.columnar import ReadColumnarCopy
    from sluice.beam.jobs import new_pipeline, run_and_count

    examples = inputs["examples"]
    patterns = split_patterns(examples)
    pipeline = new_pipeline(beam_args, worker_imports=["tensorflow_data_validation"])
    for name, pattern in patterns.items():
        columnar = examples.properties["splits"][name].get("columnar_pattern")
        if columnar:  # the same rows, columnar: no tf.Example to decode per row
            source = ReadColumnarCopy(examples.file(columnar))
        else:
            source = tfxio.TFExampleRecord(pattern, telemetry_descriptors=["sluice", "statistics_gen"]).BeamSource()
        _ = (
            pipeline
            | f"Read{name.title()}Examples" >> source
            | f"Generate{name.title()}Statistics" >> tfdv.GenerateStatistics(tfdv.StatsOptions())
            | f"Write{name.title()}Statistics" >> tfdv.WriteStatisticsToBinaryFile(output.file(name, STATS_FILE))
        )
    run_and_count(pipeline, "statistics_gen")

    counts = {}
    for name in patterns:
        stats = tfdv.load_stats_binary(output.file(name, STATS_FILE))
        counts[name] = int(stats.datasets[0].num_examples) if stats.datasets else 0
        expected = examples.properties["splits"][name]["rows"]
        if counts[name] != expected:
            raise RowCountMismatch(
                f"StatisticsGen: split {name!r} has {counts[name]} examples in its statistics but "
                f"ExampleGen wrote {expected}"
            )
    output.properties["splits"] = {name: {"num_examples": n, "file": f"{name}/{STATS_FILE}"} for name, n in counts.items()}
