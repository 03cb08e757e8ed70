"""The PushedModel artifact (Pusher's): whether a model was pushed into the serving layout, and where.

The end of `sluice run` reads it to show a prediction by the served model.
"""

from __future__ import annotations

from sluice.artifacts import ArtifactProperties


class PushedModel(ArtifactProperties):
    """A push, or the reason there was none.

    Args:
        accuracy: the evaluated accuracy of the model.
        min_accuracy: the accuracy a model needs to be pushed.
        pushed: whether it was.
        reason: why not, when it was not.
        model: which exported model was pushed ("single" or "ensemble").
        version: its version in the serving layout.
        pushed_to: its directory, `<serving_dir>/<version>`.
    """

    accuracy: float
    min_accuracy: float
    pushed: bool
    reason: str | None = None
    model: str | None = None
    version: int | None = None
    pushed_to: str | None = None
