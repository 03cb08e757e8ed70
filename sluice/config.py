"""Pipeline configuration: typed, with embedded defaults, overridable by `section.field=value`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence, TypeVar

import pydantic

from sluice.errors import SluiceError
from sluice.spans import SpanSelection

HOME_ENV = "SLUICE_HOME"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_home() -> str:
    """Where artifacts and served models live: $SLUICE_HOME, else ./sluice_home."""
    return str(Path(os.environ.get(HOME_ENV, "sluice_home")).resolve())


class ConfigError(SluiceError, ValueError):
    """A setting is unknown or has the wrong type."""


class PipelineConfig(pydantic.BaseModel):
    """Settings every pipeline has."""

    model_config = pydantic.ConfigDict(extra="forbid", validate_assignment=True)

    home: str = pydantic.Field(default_factory=default_home)
    # Which spans of a `{SPAN}` / `{YYYY}-{MM}-{DD}` input this run reads (sluice.spans).
    spans: SpanSelection = SpanSelection()

    @property
    def artifact_root(self) -> str:
        return str(Path(self.home) / "artifacts")

    @property
    def serving_root(self) -> str:
        return str(Path(self.home) / "serving")


Config = TypeVar("Config", bound=PipelineConfig)


def apply_overrides(config: Config, overrides: Sequence[str]) -> Config:
    """A copy of `config` with each "section.field=value" set (values parsed as JSON when they can be).

    Raises:
        ConfigError: an override names no field, or its value has the wrong type.
    """
    data = config.model_dump()
    for override in overrides:
        path, sep, text = override.partition("=")
        if not sep:
            raise ConfigError(f"override {override!r} must look like section.field=value")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        node = data
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ConfigError(f"override {override!r}: {key!r} is not a section")
            node = node[key]
        if keys[-1] not in node:
            raise ConfigError(f"override {override!r}: no setting {path!r}")
        node[keys[-1]] = value
    try:
        return type(config).model_validate(data)
    except pydantic.ValidationError as error:
        raise ConfigError(f"bad override: {error}") from None
