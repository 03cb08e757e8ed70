"""`sluice init`: a pipeline written from a file's statistics, ready for `sluice run`.

Writes `<dir>/<name>/`: `pipeline.py` (the declaration), `preprocessing.py` (a
preprocessing_fn, one block per feature), `model.py` (a search space sized to the data),
`schema.draft.pbtxt` (for review: copied to `schema.pbtxt`, it becomes the reviewed
schema), `dag.py` (its Airflow DAG) and `__init__.py`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd

from sluice.errors import SluiceError
from sluice.inference import (
    TFIDF_TERMS,
    ColumnChoice,
    InferenceError,
    LabelChoice,
    LocationCross,
    Table,
    choose_columns,
    choose_label,
    choose_location_crosses,
    read_table,
)


@dataclasses.dataclass(frozen=True)
class SplitChoice:
    """How the file is split (`data.split`), the column of times when there is one, and why."""

    method: str
    time_column: str | None
    reason: str


CATEGORICAL_KINDS = ("category", "integer_category", "hashed", "timestamp")  # timestamps give hour, weekday, month ids


@dataclasses.dataclass(frozen=True)
class Scaffold:
    directory: Path
    label: LabelChoice
    columns: list[ColumnChoice]
    rows: int
    data_file: Path
    crosses: list[LocationCross] = dataclasses.field(default_factory=list)
    split: SplitChoice | None = None


def init_pipeline(
    name: str, data: str, label: str, task: str = "auto", directory: str = "pipelines", force: bool = False, split: str = "auto"
) -> Scaffold:
    """Reads `data`, chooses each column's preprocessing and writes the pipeline `name`.

    `split`: "auto" (stratified by label for classification, else hash), "hash",
    "stratified" or "time:COLUMN" (the earliest rows by COLUMN train, the later evaluate).

    Raises:
        InferenceError: the file or the label cannot make a pipeline.
        SluiceError: `name` is no identifier, or its directory exists (without `force`).
    """
    if not name.isidentifier():
        raise SluiceError(f"pipeline name {name!r} must be a Python identifier (letters, digits, _)")
    target = Path(directory).resolve() / name
    if target.exists() and not force:
        raise SluiceError(f"{target} exists; choose another name or pass --force")
    table = read_table(data)
    label_choice = choose_label(table, label, task)
    columns = choose_columns(table, label)
    if not any(c.kind != "skip" for c in columns):
        raise SluiceError(f"{table.path}: no column besides the label can be a feature")
    split_choice = choose_split(table, label_choice, columns, split)
    crosses = choose_location_crosses(table, columns)
    target.mkdir(parents=True, exist_ok=True)
    data_file = table.path.resolve()  # CSV or Parquet: ExampleGen reads either
    rows = len(table.frame)
    files = {
        "__init__.py": "",
        "pipeline.py": _pipeline_module(name, table, data_file, label_choice, columns, rows, split_choice),
        "preprocessing.py": _preprocessing_module(name, label_choice, columns, crosses),
        "model.py": _model_module(rows, columns, crosses),
        "schema.draft.pbtxt": _schema_draft(label_choice, columns),
        "dag.py": _dag_module(name, target.parent),
    }
    for file, text in files.items():
        (target / file).write_text(text)
    return Scaffold(target, label_choice, columns, rows, data_file, crosses, split_choice)


def choose_split(table: Table, label: LabelChoice, columns: list[ColumnChoice], split: str = "auto") -> SplitChoice:
    """`split` ("auto", "hash", "stratified" or "time:COLUMN") checked against the columns.

    A split other than by time keeps the first timestamp column whose every time reads
    (if any) as `data.split_time_column`, so `-o data.split=time` switches to it.

    Raises:
        InferenceError: an unknown split, or a time column that is no timestamp or lacks times.
    """
    kinds = {c.name: c for c in columns}
    if split.startswith("time:"):
        column = split.split(":", 1)[1]
        choice = kinds.get(column)
        if choice is None:
            raise InferenceError(f"{table.path}: --split time:{column}: no feature column {column!r}")
        if choice.kind != "timestamp":
            raise InferenceError(f"{table.path}: --split time:{column}: {column!r} holds no timestamps (its values are {choice.kind})")
        untimed = _untimed_rows(table, choice)
        if untimed:
            raise InferenceError(
                f"{table.path}: --split time:{column}: {untimed} of {len(table.frame)} rows have no time ExampleGen reads "
                "(unix seconds, or ISO 8601), and a split by time needs one in every row"
            )
        return SplitChoice("time", column, f"by time: the earliest rows by {column} train, the later ones evaluate and test")
    if split == "auto":
        split = "hash" if label.task == "regression" else "stratified"
    if split not in ("hash", "stratified"):
        raise InferenceError(f"split {split!r} is not one of hash, stratified, time:COLUMN")
    if split == "stratified" and label.task == "regression":
        raise InferenceError(f"{table.path}: a stratified split cuts label classes, and a regression label has none (use hash)")
    reason = "stratified: each label class cut in the same proportions" if split == "stratified" else "hash: by a stable hash of each row"
    timed = next((c.name for c in columns if c.kind == "timestamp" and not _untimed_rows(table, c)), None)
    if timed:
        reason += f"; to split by time instead: -o data.split=time ({timed})"
    return SplitChoice(split, timed, reason)


def _untimed_rows(table: Table, choice: ColumnChoice) -> int:
    """Rows of a timestamp column whose time a split by time cannot read (missing ones too)."""
    import pyarrow as pa

    from sluice.data.timestamps import unix_seconds

    values = table.frame[choice.name]
    if choice.csv_type == "string":
        array = pa.array(values, pa.string())
    else:
        array = pa.array(pd.to_numeric(values, errors="coerce"), pa.float64())
    return int((~unix_seconds(array)[1]).sum())


def _pipeline_module(name, table: Table, data_file: Path, label: LabelChoice, columns, rows: int, split: SplitChoice) -> str:
    read = {c.name: c.csv_type for c in columns if c.kind != "skip"}
    read[label.name] = label.csv_type
    missing = list(dict.fromkeys(["", *table.missing_values]))
    # A Parquet file's columns are found by name; only the missing-value markers apply to it.
    csv = {"missing_values": missing} if table.parquet else {"header": True, "delimiter": table.delimiter, "missing_values": missing}
    settings = _training_settings(rows)
    partly_missing = [c.name for c in columns if c.kind != "skip" and c.missing]
    if partly_missing:
        # Their missing share varies by split, more so in small splits: the inferred schema's
        # presence floor (from train) would block eval rows that are handled anyway.
        settings["validation"] = {"warn_only": partly_missing}
    categories = [c.name for c in columns if c.kind in ("category", "integer_category")]
    if any(rows < 30 * table.frame[name].nunique() for name in categories):
        # Categories seen in few rows: a random split leaves some out of train, and the
        # eval and test rows holding them are handled (an OOV bucket), not wrong.
        settings.setdefault("validation", {})["unseen_category_share"] = 0.1
    data = {"train_file": str(data_file), "eval_percent": 10, "test_percent": 10, "split": split.method}
    if split.time_column:
        data["split_time_column"] = split.time_column
    if label.unlabelled_rows:
        # ExampleGen rejects rows without a label; this lets those the file has through, and no more.
        data["max_reject_fraction"] = math.ceil(10_000 * label.unlabelled_rows / rows) / 10_000
    skipped = "".join(f"#   {c.name}: {c.reason}\n" for c in columns if c.kind == "skip")
    return f'''"""The {name} pipeline: {label.name} from {table.path.name} ({label.task}).

Written by `sluice init`; edit freely. Settings can be overridden per run
(`sluice run {name} -o tuner.max_trials=10`).
"""

from pathlib import Path

from components.standard_pipeline import Declaration

# Columns left out:
{skipped or "#   none"}
PIPELINE = Declaration(
    name={name!r},
    label={label.name!r},
    task={label.task!r},
    positive_label={label.positive!r},
    columns={_block(read)},
    csv={csv!r},
    # split: {split.reason}
    data={data!r},
    preprocessing_fn=f"{{__package__}}.preprocessing:preprocessing_fn",
    search_space=f"{{__package__}}.model:search_space",
    model_fn=f"{{__package__}}.model:build_model",
    reviewed_schema=str(Path(__file__).with_name("schema.pbtxt")),  # from schema.draft.pbtxt, once reviewed
    settings={settings!r},
    doc=__doc__,
)
'''


SMALL_DATA_ROWS = 5_000  # below it, networks train in seconds and one eval split is a few hundred rows at most
EPOCHS = 40  # passes over the train rows a network may take (above SMALL_DATA_ROWS, early stopping may end it sooner)


def _training_settings(rows: int) -> dict:
    """Batch size, steps and the search protocol, sized to the rows.

    A network trains for about EPOCHS passes, 200 to 2,000 steps. On small data a trial
    trains as long as the final model (steps cost little there, and shorter trials would
    rank the networks and the linear model, which need many passes, below the forests,
    which train in one), and the trials are scored by 5-fold cross-validation over the
    train split, not on an eval split of a few dozen rows. Nor does such a split stop
    training early there: its loss is noise that stops a network after a few passes, and
    under cross-validation the fold that stops a trial would also score it. Every size:
    the first trials are each family's defaults, so a short search tries every family
    before sampling.
    """
    batch = max(16, min(256, rows // 20))
    train_steps = max(200, min(2000, EPOCHS * rows // batch))
    small = rows < SMALL_DATA_ROWS
    tuner = {"trial_steps": train_steps if small else max(50, train_steps // 4), "defaults_first": True}
    if small:
        tuner["folds"] = 5
    trainer = {"batch_size": batch, "train_steps": train_steps, "eval_every_steps": max(20, train_steps // 10)}
    if small:
        trainer["early_stopping_patience"] = 0
    return {"trainer": trainer, "tuner": tuner}


def _block(mapping: dict) -> str:
    return "{\n" + "".join(f"        {key!r}: {value!r},\n" for key, value in mapping.items()) + "    }"


_FEATURE_CODE = {
    "numeric": "outputs[{n!r}] = pp.z_score(pp.impute_mean(inputs[{n!r}]))",
    "log_numeric": "outputs[{n!r}] = pp.z_score(pp.log1p(pp.impute_median(inputs[{n!r}])))",
    "integer_category": "outputs[{n!r}] = pp.vocabulary(pp.integer_category(inputs[{n!r}]), name={f!r})",
    "category": "outputs[{n!r}] = pp.vocabulary(pp.impute_category(inputs[{n!r}]), name={f!r})",
    "hashed": "outputs[{n!r}] = pp.hashed(pp.impute_category(inputs[{n!r}]), {b})",
    "timestamp": "outputs.update(pp.timestamp_features(inputs[{n!r}], {n!r}))",
    "text": "outputs.update(pp.tfidf_columns(inputs[{n!r}], " + str(TFIDF_TERMS) + ", {n!r}))",
}


def _label_code(label: LabelChoice) -> str:
    n = label.name
    if label.task == "regression":
        return f"outputs[{n!r}] = tf.cast(pp.dense(inputs[{n!r}], 0.0), tf.float32)"
    if label.task == "binary":
        default = 0 if label.csv_type == "int" else ""
        return f"outputs[{n!r}] = pp.label_index(pp.dense(inputs[{n!r}], {default!r}), {label.positive!r})"
    values = f"pp.integer_category(inputs[{n!r}])" if label.csv_type == "int" else f"pp.dense(inputs[{n!r}], '')"
    return f"outputs[{n!r}] = pp.vocabulary({values}, num_oov_buckets=0, name='label_{_file_name(n)}')"


def _file_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _preprocessing_module(name: str, label: LabelChoice, columns: list[ColumnChoice], crosses: list[LocationCross] = ()) -> str:
    lines = []
    for c in columns:
        lines.append(f"    # {c.name}: {c.reason}")
        if c.kind == "skip":
            continue
        lines.append("    " + _FEATURE_CODE[c.kind].format(n=c.name, f=_file_name(c.name), b=c.buckets))
        if c.missing and c.kind not in ("category", "hashed", "integer_category", "text"):  # those give missing a category
            lines.append(f"    outputs[{c.name + '_missing'!r}] = pp.missing_indicator(inputs[{c.name!r}])")
    for cross in crosses:
        lines.append(f"    # {cross.name}: {cross.reason}")
        arguments = f"inputs[{cross.latitude!r}], inputs[{cross.longitude!r}], {cross.buckets}, {cross.hash_buckets}"
        lines.append(f"    outputs[{cross.name!r}] = pp.location_cross({arguments})")
    lines.append(f"    # label: {label.reason}")
    lines.append("    " + _label_code(label))
    body = "\n".join(lines)
    return f'''"""The {name} preprocessing_fn, chosen by `sluice init` from the data's statistics.

Full-pass statistics (means, vocabularies, quantiles) come from the train split only
and are applied to every row, at training and at serving (`sluice.preprocessing`).
"""

import tensorflow as tf  # noqa: F401 (for edits and a regression label)

from sluice import preprocessing as pp


def preprocessing_fn(inputs: dict) -> dict:
    """Raw features -> model features and the label."""
    outputs = {{}}
{body}
    return outputs
'''


def _model_module(rows: int, choices: list[ColumnChoice], crosses: list[LocationCross] = ()) -> str:
    columns = len(choices)
    if rows < 2_000:
        sizes = {"max_units": 64, "max_layers": 2, "max_trees": 200}
    elif rows < 50_000:
        sizes = {"max_units": 128 if columns < 50 else 256, "max_layers": 3, "max_trees": 300}
    else:
        sizes = {"max_units": 256, "max_layers": 3, "max_trees": 500}
    arguments = ", ".join(f"{key}={value}" for key, value in sizes.items())
    why = ""
    if not crosses and not any(c.kind in CATEGORICAL_KINDS for c in choices):
        # Wide & Deep's wide part is the categorical features: without any it is the DNN again.
        arguments += ', families=tuple(f for f in FAMILIES if f != "wide_deep")'
        why = " No categorical feature: no Wide & Deep (its wide part would be empty)."
    return f'''"""The search space, sized by `sluice init` to {rows} rows and {columns} columns.{why}"""

from sluice.standard_model import FAMILIES, build_model, declare  # noqa: F401 (build_model: the pipeline's model_fn)


def search_space(hp) -> None:
    declare(hp, {arguments})
'''


def _schema_draft(label: LabelChoice, columns: list[ColumnChoice]) -> str:
    """Each raw feature's type and presence, for review (`sluice schema freeze` writes a full
    one from a run's statistics)."""
    types = {"int": "INT", "float": "FLOAT", "string": "BYTES"}
    lines = [
        "# A draft for review, written by `sluice init`. Copied to schema.pbtxt it becomes the",
        "# reviewed schema; `sluice schema freeze` writes a fuller one from a run's statistics.",
        'default_environment: "TRAINING"',
        'default_environment: "SERVING"',
    ]
    for c in [c for c in columns if c.kind != "skip"]:
        presence = "1.0" if not c.missing else "0.0"
        lines.append(f'feature {{\n  name: "{c.name}"\n  type: {types[c.csv_type]}\n  presence {{\n    min_fraction: {presence}\n  }}\n}}')
    lines.append(
        f'feature {{\n  name: "{label.name}"\n  type: {types[label.csv_type]}\n  presence {{\n    min_fraction: 1.0\n  }}\n'
        '  not_in_environment: "SERVING"\n}'
    )
    return "\n".join(lines) + "\n"


def _dag_module(name: str, pipelines_dir: Path) -> str:
    return f'''"""The {name} pipeline as an Airflow DAG (copy or link this file into Airflow's dags folder)."""

from sluice.airflow_dag import build_dag
from sluice.registry import add_pipelines_dir

add_pipelines_dir({str(pipelines_dir)!r})
dag = build_dag({name!r})

if __name__ == "__main__":
    dag.test()
'''
