"""Tuner: a keras-tuner oracle's search over a pipeline's space, each trial in its own process."""
