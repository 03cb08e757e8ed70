"""What a model needs to know about its inputs, and the tf.data pipeline that feeds it.

Both come from the Transform artifact alone: the transformed schema says which features
are numbers and how many ids each integer feature has.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ModelFeatures:
    """The transformed features a model reads.

    Args:
        numeric: names of float features (one value per row).
        categorical: name -> number of distinct ids (ids run from 0 to n-1).
        label: the label's name.
        task: "binary", "multiclass" or "regression": what the model's head predicts.
        classes: a multiclass label's number of classes (ids 0..classes-1); 2 otherwise.
        label_mean, label_std: a regression label's training mean and standard deviation:
            a regression head predicts in these units, so it starts at the mean and its
            weights learn at the same pace whatever the label's scale.
    """

    numeric: tuple[str, ...]
    categorical: Mapping[str, int]
    label: str
    task: str = "binary"
    classes: int = 2
    label_mean: float = 0.0
    label_std: float = 1.0

    @property
    def outputs(self) -> int:
        """Units of the model's last layer: K for a multiclass task, 1 otherwise."""
        return self.classes if self.task == "multiclass" else 1

    @classmethod
    def from_transform_output(cls, tft_output, label: str, **label_facts) -> ModelFeatures:
        """The features of a Transform's output; `label_facts`: task, classes, label_mean, label_std."""
        numeric, categorical = [], {}
        for name, spec in sorted(tft_output.transformed_feature_spec().items()):
            if name == label:
                continue
            if spec.dtype == tf.int64:
                categorical[name] = tft_output.num_buckets_for_transformed_feature(name)
            else:
                numeric.append(name)
        return cls(tuple(numeric), categorical, label, **label_facts)

    def without(self, *names: str) -> ModelFeatures:
        """The same features less `names` (each must be one of them)."""
        unknown = set(names) - set(self.numeric) - set(self.categorical)
        if unknown:
            raise ValueError(f"features {sorted(unknown)} are not among {sorted((*self.numeric, *self.categorical))}")
        numeric = tuple(name for name in self.numeric if name not in names)
        categorical = {name: size for name, size in self.categorical.items() if name not in names}
        return dataclasses.replace(self, numeric=numeric, categorical=categorical)


def transformed_dataset(
    file_pattern: str,
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    label: str,
    batch_size: int,
    *,
    shuffle: bool = False,
    repeat: bool = False,
    seed: int | None = None,
    keep: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tf.data.Dataset:
    """(features, label) batches from transformed TFRecord files.

    Files are read in parallel (interleave), whole batches are parsed at once, and the
    next batches are prepared while the model trains on this one (prefetch). `keep`, a
    predicate on a serialized record, selects rows (e.g. the rows of one fold).
    """
    files = tf.data.Dataset.list_files(file_pattern, shuffle=shuffle, seed=seed)
    records = files.interleave(
        tf.data.TFRecordDataset, cycle_length=tf.data.AUTOTUNE, num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not shuffle,
    )
    if keep is not None:
        records = records.filter(keep)
    if shuffle:
        records = records.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        records = records.repeat()
    label_spec = dict(feature_spec)

    def parse(serialized):
        features = tf.io.parse_example(serialized, label_spec)
        target = features.pop(label)
        return {name: tf.reshape(value, [-1]) for name, value in features.items()}, tf.reshape(target, [-1])

    return records.batch(batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
