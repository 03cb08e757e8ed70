"""Guarded speed-ups of Beam, TFDV and tfx-bsl internals: each version-gated and switchable off."""
