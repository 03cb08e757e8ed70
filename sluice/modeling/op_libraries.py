"""The op libraries beyond stock TensorFlow that an exported SavedModel's graph calls.

A decision forest's SavedModel calls TF-DF's ops (`SimpleML...`): a process loads it only
after importing `tensorflow_decision_forests` (about 0.35 s on top of TensorFlow). The
graph's op list says which libraries a loader needs, so a network's loader skips that import.
"""

from __future__ import annotations

import importlib
import posixpath
from pathlib import Path

# Op name prefixes of libraries outside stock TensorFlow, and the library that registers them.
OP_LIBRARIES = {"SimpleML": "tensorflow_decision_forests", "YggdrasilDecisionForests": "tensorflow_decision_forests"}


def _graph_file(model_dir: str | Path) -> str:
    return posixpath.join(str(model_dir), "saved_model.pb")  # TensorFlow's file systems: local or remote


def read_saved_model(model_dir: str | Path):
    """The SavedModel proto of `model_dir/saved_model.pb` (a local or remote directory)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(_graph_file(model_dir), "rb") as graph:
        proto.ParseFromString(graph.read())
    return proto


def custom_ops(model_dir: str | Path) -> dict[str, list[str]]:
    """The op libraries beyond stock TensorFlow the SavedModel's graph uses, and those ops."""
    used = {op.name for meta_graph in read_saved_model(model_dir).meta_graphs for op in meta_graph.meta_info_def.stripped_op_list.op}
    ops = sorted(op for op in used if any(op.startswith(prefix) for prefix in OP_LIBRARIES))
    libraries = sorted({library for prefix, library in OP_LIBRARIES.items() if any(op.startswith(prefix) for op in ops)})
    return {"libraries": libraries, "custom_ops": ops}


def import_op_libraries(model_dir: str | Path) -> None:
    """Imports the libraries whose ops the SavedModel calls. A missing library is skipped:
    loading then fails with TensorFlow's "Op type not registered"."""
    import tensorflow as tf

    if not tf.io.gfile.exists(_graph_file(model_dir)):
        return  # the loader says what is wrong
    for library in custom_ops(model_dir)["libraries"]:
        try:
            importlib.import_module(library)
        except ImportError:
            pass
