"""The pipelines of the user's own project: this package's path is $SLUICE_PIPELINES (see sluice.registry).

`sluice.user_pipelines.<name>.pipeline` is `<dir>/<name>/pipeline.py` of the first
directory listed that has it.
"""

from sluice.registry import user_pipeline_dirs

__path__ = [str(directory) for directory in user_pipeline_dirs()]
