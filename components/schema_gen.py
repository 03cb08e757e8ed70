"""SchemaGen: the reviewed schema when the pipeline has one, else one inferred from train.

The inferred schema is the one `sluice schema freeze` would write for review
(`sluice.validation.schema_freeze.frozen_schema`): environments, presence with room for
the missing rate seen in training, a tolerated share of unseen categories, and skew and
drift thresholds. A first run thus validates as its frozen schema will.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.contract import ComponentSpec, ContractError
from sluice.validation.statistics import Statistics

SCHEMA_FILE = "schema.pbtxt"


class Schema(ArtifactProperties):
    """A schema artifact (`schema.pbtxt`, read with `load_schema`) and where the schema came from.

    Args:
        source: "reviewed" (copied from `reviewed_schema`) or "inferred" (from `inferred_from`'s statistics).
    """

    source: str
    reviewed_schema: str | None = None
    inferred_from: str | None = None


@dataclasses.dataclass(frozen=True)
class Params:
    """SchemaGen's parameters.

    Args:
        reviewed_schema: path of the reviewed schema.pbtxt; used when the file exists.
        infer_from_split: the split whose statistics the schema is inferred from otherwise.
        label: the label column, absent in the inferred schema's SERVING environment.
        unseen_category_share: the share of a split that categories unseen in training may
            cover before the inferred schema blocks (a smaller share is a warning); raised
            for a feature whose training values show a long tail of rare names.
    """

    reviewed_schema: str | None = None
    infer_from_split: str = "train"
    label: str | None = None
    unseen_category_share: float = 0.01


def load_schema(schema: Artifact):
    import tensorflow_data_validation as tfdv

    return tfdv.load_schema_text(schema.file(SCHEMA_FILE))


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import tensorflow_data_validation as tfdv

    from sluice.validation.findings import check_schema_config
    from sluice.validation.schema_freeze import frozen_schema
    from sluice.validation.statistics import load_split_statistics

    if params.reviewed_schema and os.path.exists(params.reviewed_schema):
        # A malformed file, or a skew/drift comparator that can never fire, stops the run here.
        check_schema_config(tfdv.load_schema_text(params.reviewed_schema))
        shutil.copyfile(params.reviewed_schema, output.file(SCHEMA_FILE))
        Schema(source="reviewed", reviewed_schema=params.reviewed_schema).write(output)
        return
    if "statistics" not in inputs:
        raise ContractError(f"SchemaGen: no reviewed schema at {params.reviewed_schema} and no statistics to infer one from")
    statistics = load_split_statistics(inputs["statistics"], params.infer_from_split)
    schema = frozen_schema(statistics, params.label, params.unseen_category_share)
    tfdv.write_schema_text(schema, output.file(SCHEMA_FILE))
    Schema(source="inferred", inferred_from=params.infer_from_split).write(output)


# `statistics` may be left out where a reviewed schema is sure to exist.
SPEC = ComponentSpec(run=run, params=Params, output=Schema, inputs={"statistics": Statistics}, optional={"statistics"})
