"""Beam plumbing every Beam step shares: job options and runs, TFRecord IO, encoders, warm workers, windows, the columnar read, and guarded speed-ups of library internals (patches/)."""
