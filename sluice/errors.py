"""Errors a user can act on from their message alone (the CLI prints no traceback for them)."""


class SluiceError(Exception):
    """Base of Sluice's user-facing errors."""


class GateClosed(SluiceError):
    """Blocking findings: the pipeline stops here, after the artifact recording them is sealed."""


class RowCountMismatch(SluiceError):
    """A stage wrote a different number of rows than it was given; the message names the stage."""
