"""The component contract: what a component reads, writes and is set by.

Each component module defines one `SPEC = ComponentSpec(...)`; a pipeline's `Component`
names it ("components.transform.component:SPEC"). The spec is importable without
TensorFlow or Beam (components import those inside `run`), so a pipeline can check its
wiring, and an Airflow scheduler parse it, where they are not loaded.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping

from sluice.artifacts import Artifact, ArtifactProperties
from sluice.config import ConfigError
from sluice.errors import SluiceError


class ContractError(SluiceError, ValueError):
    """A component is given inputs its spec does not declare, or not given one it needs."""


@dataclasses.dataclass(frozen=True)
class ComponentSpec:
    """A component's declared inputs, output and parameters, and its `run`.

    Args:
        run: `run(inputs, output, params, beam_args)`: `inputs` maps input names to finished
            Artifacts, `output` is the ArtifactDraft to fill.
        params: the frozen dataclass a Component's `params` are checked by.
        output: the type (an ArtifactProperties class) of the artifact `run` writes.
        inputs: input name -> the artifact type it takes.
        optional: the inputs that may be left out.
        summary: what `sluice run` prints about the artifact at the end of a run (optional).
    """

    run: Callable[..., None]
    params: type
    output: type[ArtifactProperties]
    inputs: Mapping[str, type[ArtifactProperties]] = dataclasses.field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    summary: Callable[[Artifact], str] | None = None

    def __post_init__(self):
        object.__setattr__(self, "optional", frozenset(self.optional))
        if not self.optional <= set(self.inputs):
            raise ContractError(f"{self.producer}: optional inputs {sorted(self.optional - set(self.inputs))} are not declared")

    @property
    def producer(self) -> str:
        """"module:function" of `run`, recorded as the producer of the artifacts it writes."""
        return f"{self.run.__module__}:{self.run.__qualname__}"

    def input_problem(self, given: Iterable[str]) -> str | None:
        """Why inputs named `given` do not fit the declaration, or None when they do."""
        given = list(given)
        declared = ", ".join(self.inputs) or "none"
        unknown = [name for name in given if name not in self.inputs]
        if unknown:
            return f"unknown input {unknown[0]!r} (declared: {declared})"
        missing = [name for name in self.inputs if name not in given and name not in self.optional]
        if missing:
            return f"missing input {missing[0]!r}" if len(missing) == 1 else f"missing inputs {', '.join(map(repr, missing))}"
        return None

    def make_params(self, values: Mapping[str, Any], component: str) -> Any:
        """The component's Params from JSON-friendly `values`; ConfigError names a bad one."""
        try:
            return self.params(**values)
        except TypeError as error:
            raise ConfigError(f"component {component!r}: {error}") from None
