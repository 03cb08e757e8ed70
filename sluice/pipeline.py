"""Pipeline definitions: an ordered set of components wired by artifact.

A definition is plain data (names, dotted entry points, JSON-friendly parameters), so the
local runner, an Airflow DAG file and a child process can all rebuild it without
importing TensorFlow or Beam.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any, Callable, Mapping

from sluice.errors import SluiceError


class PipelineError(SluiceError, ValueError):
    """A pipeline definition is inconsistent."""


@dataclasses.dataclass(frozen=True)
class Component:
    """One step of a pipeline.

    Args:
        name: the step's name; also its artifact directory and Airflow task_id.
        entry: "module:function" of the component's `run(inputs, output, params, beam_args)`.
        inputs: argument name -> name of the upstream component whose artifact it reads.
        params: JSON-friendly parameters, checked by the component's `Params` dataclass.
        artifact_type: the type recorded in the output's artifact.json.
    """

    name: str
    entry: str
    inputs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    artifact_type: str = ""

    def __post_init__(self):
        if ":" not in self.entry:
            raise PipelineError(f"component {self.name!r}: entry {self.entry!r} must be 'module:function'")
        try:
            json.dumps(self.params)
        except TypeError as error:
            raise PipelineError(f"component {self.name!r}: params must be JSON-friendly ({error})") from None


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """A named, ordered list of components; every input names an earlier component."""

    name: str
    components: tuple[Component, ...]

    def __post_init__(self):
        seen: set[str] = set()
        for component in self.components:
            if component.name in seen:
                raise PipelineError(f"pipeline {self.name!r}: component name {component.name!r} is used twice")
            for argument, upstream in component.inputs.items():
                if upstream not in seen:
                    raise PipelineError(
                        f"pipeline {self.name!r}: {component.name}.{argument} reads {upstream!r}, "
                        "which is not an earlier component"
                    )
            seen.add(component.name)

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise PipelineError(f"pipeline {self.name!r} has no component {name!r}")

    def edges(self) -> set[tuple[str, str]]:
        """(upstream, downstream) pairs."""
        return {(upstream, c.name) for c in self.components for upstream in c.inputs.values()}


def load_object(dotted: str) -> Callable[..., Any]:
    """Imports "package.module:attribute"."""
    module_name, _, attribute = dotted.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise PipelineError(f"{module_name} has no {attribute!r} (from {dotted!r})") from None
