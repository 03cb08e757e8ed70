"""Pipeline definitions: an ordered set of components wired by artifact.

A definition is plain data (names, dotted spec paths, JSON-friendly parameters), so the
local runner, an Airflow DAG file and a child process can all rebuild it without
importing TensorFlow or Beam. Building a Pipeline checks its wiring against each
component's `ComponentSpec`, before any work runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any, Callable, Mapping

from sluice.artifacts import a_type
from sluice.contract import ComponentSpec
from sluice.errors import SluiceError


class PipelineError(SluiceError, ValueError):
    """A pipeline definition is inconsistent."""


@dataclasses.dataclass(frozen=True)
class Component:
    """One step of a pipeline.

    Args:
        name: the step's name; also its artifact directory and Airflow task_id.
        spec: "module:SPEC", the component's ComponentSpec.
        inputs: input name -> name of the upstream component whose artifact it reads.
        params: JSON-friendly parameters, checked by the spec's `params` dataclass.
        after: components that must finish first though none of their artifacts is read
            (a validation gate, say).
    """

    name: str
    spec: str
    inputs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    after: tuple[str, ...] = ()

    def __post_init__(self):
        if ":" not in self.spec:
            raise PipelineError(f"component {self.name!r}: spec {self.spec!r} must be 'module:SPEC'")
        object.__setattr__(self, "after", tuple(self.after))  # a list, after a trip through JSON
        try:
            json.dumps(self.params)
        except TypeError as error:
            raise PipelineError(f"component {self.name!r}: params must be JSON-friendly ({error})") from None

    def load_spec(self) -> ComponentSpec:
        try:
            spec = load_object(self.spec)
        except ImportError as error:
            raise PipelineError(f"component {self.name!r}: cannot import {self.spec!r}: {error}") from None
        if not isinstance(spec, ComponentSpec):
            raise PipelineError(f"component {self.name!r}: {self.spec!r} is not a ComponentSpec")
        return spec

    def upstream(self) -> tuple[str, ...]:
        """The components that must finish before this one: those it reads, then `after`."""
        return tuple(dict.fromkeys([*self.inputs.values(), *self.after]))


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """A named, ordered list of components; every input names an earlier component of the
    artifact type the input declares."""

    name: str
    components: tuple[Component, ...]

    def __post_init__(self):
        outputs: dict[str, type] = {}
        for component in self.components:
            where = f"pipeline {self.name!r}: {component.name}"
            if component.name in outputs:
                raise PipelineError(f"pipeline {self.name!r}: component name {component.name!r} is used twice")
            spec = component.load_spec()
            problem = spec.input_problem(component.inputs)
            if problem:
                raise PipelineError(f"{where}: {problem}")
            for argument, upstream in component.inputs.items():
                if upstream not in outputs:
                    raise PipelineError(f"{where}.{argument} reads {upstream!r}, which is not an earlier component")
                expected, produced = spec.inputs[argument], outputs[upstream]
                if produced is not expected:
                    raise PipelineError(
                        f"{where}.{argument} expects {a_type(expected.type_name())} artifact "
                        f"but {upstream} produces {produced.type_name()}"
                    )
            for before in component.after:
                if before not in outputs:
                    raise PipelineError(f"{where} runs after {before!r}, which is not an earlier component")
            spec.make_params(component.params, component.name)
            outputs[component.name] = spec.output

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise PipelineError(f"pipeline {self.name!r} has no component {name!r}")

    def edges(self) -> set[tuple[str, str]]:
        """(upstream, downstream) pairs: artifacts read and `after` orderings."""
        return {(upstream, c.name) for c in self.components for upstream in c.upstream()}


def load_object(dotted: str) -> Callable[..., Any]:
    """Imports "package.module:attribute"."""
    module_name, _, attribute = dotted.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise PipelineError(f"{module_name} has no {attribute!r} (from {dotted!r})") from None
