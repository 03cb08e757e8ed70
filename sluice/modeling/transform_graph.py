"""The TransformGraph artifact (Transform's): what training, tuning and evaluation read.

Beside TFT's own layout (transform_fn/, transformed_metadata/, metadata/), the artifact
holds each split's transformed examples; these properties say where, and how many.
"""

from __future__ import annotations

from typing import Any

import pydantic

from sluice.artifacts import ArtifactProperties


class TransformedSplit(pydantic.BaseModel):
    """One transformed split: its row count and the glob of its TFRecords in the artifact."""

    model_config = pydantic.ConfigDict(frozen=True)

    rows: int
    pattern: str


class TransformGraph(ArtifactProperties):
    """A Transform artifact.

    Args:
        splits: split name -> its transformed examples.
        analyzed_split: the split TFT's analyzers saw.
        preprocessing_fn: "module:function" of the preprocessing_fn.
        post_transform_statistics: the directory of per-split statistics after the
            transform (None: not computed).
        pre_transform_statistics: {"dir": ..., "from": statistics uri} when StatisticsGen's
            statistics were kept beside them.
        analyzer_cache: what the analyzer cache reused and analyzed (None: not used).
    """

    splits: dict[str, TransformedSplit]
    analyzed_split: str
    preprocessing_fn: str
    post_transform_statistics: str | None = None
    pre_transform_statistics: dict[str, str] | None = None
    analyzer_cache: dict[str, Any] | None = None
