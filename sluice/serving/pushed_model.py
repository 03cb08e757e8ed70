"""The PushedModel artifact (Pusher's): whether a model was pushed into the serving layout, and where.

The end of `sluice run` reads it to show a prediction by the served model.
"""

from __future__ import annotations

from sluice.artifacts import ArtifactProperties


class PushedModel(ArtifactProperties):
    """A push, or the reason there was none.

    Args:
        accuracy: the evaluated accuracy of the model (None for a regression).
        blessed: whether the Evaluator blessed it (only a blessed model is pushed).
        pushed: whether it was.
        reason: the blessing's reason (why not, when it was not pushed).
        model: which exported model was pushed ("single" or "ensemble").
        version: its version in the serving layout.
        pushed_to: its directory, `<serving_dir>/<version>` (its manifest.json inside).
        replaced_version: the version served before it (None on a first push).
        retired_versions: older versions deleted to keep the configured number.
    """

    accuracy: float | None = None
    blessed: bool
    pushed: bool
    reason: str | None = None
    model: str | None = None
    version: int | None = None
    pushed_to: str | None = None
    replaced_version: int | None = None
    retired_versions: list[int] = []
