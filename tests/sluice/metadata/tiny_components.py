"""Two tiny components for the run-history tests: one reads a text file, one appends to it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sluice.artifacts import ArtifactProperties
from sluice.contract import ComponentSpec
from sluice.pipeline import Component, Pipeline

MODULE = "tests.sluice.metadata.tiny_components"


@dataclasses.dataclass(frozen=True)
class Params:
    text: str = ""
    source: str | None = None


class Text(ArtifactProperties):
    length: int


def run(inputs, output, params, beam_args):
    upstream = "".join(Path(a.file("out.txt")).read_text() for a in inputs.values())
    read = Path(params.source).read_text() if params.source else ""
    Path(output.file("out.txt")).write_text(upstream + read + params.text)
    Text(length=len(upstream + read + params.text)).write(output)


SPEC = ComponentSpec(run=run, params=Params, output=Text, inputs={"up": Text}, optional={"up"})


def tiny_pipeline(source: Path, suffix: str = "!") -> Pipeline:
    """read: the file's text; shout: it with `suffix` appended."""
    return Pipeline(
        "tiny",
        (
            Component("read", f"{MODULE}:SPEC", params={"source": str(source)}),
            Component("shout", f"{MODULE}:SPEC", {"up": "read"}, {"text": suffix}),
        ),
    )
