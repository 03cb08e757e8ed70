"""CompactExport: TFLite float16 and dynamic-range int8 forms of each exported model's
model part, measured beside the SavedModel.

For each model the Trainer exported (the best trial's, and the ensemble), the model part
(`predict_transformed`: transformed features in, the task's main output out: P(positive),
the class probabilities, or the predicted value) is converted
(`sluice.modeling.compact`) and written as `<model>/float16.tflite` and
`<model>/int8.tflite`. Every form, the SavedModel included, is scored on the transformed
`split` through its own runtime (accuracy, or RMSE for a regression) and timed on single rows. The table is written as
`compact.json`, `compact.md` and `compact.html` (a fragment an evaluation report includes).
Models TFLite cannot convert (decision forests, or an ensemble with one) are listed with
the converter's reason.

The transform is not in a TFLite model: a client runs the SavedModel's
`transform_features` signature on serialized raw tf.Examples and feeds its output to the
TFLite model, input by input (`sluice.modeling.export.transform_raw`).
"""

from __future__ import annotations

import dataclasses
import html
import json
from typing import Any, Mapping, Sequence

from components.trainer import Model
from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.contract import ComponentSpec
from sluice.modeling.transform_graph import TransformGraph

TABLE_JSON = "compact.json"
TABLE_MARKDOWN = "compact.md"
TABLE_HTML = "compact.html"
HOW_TO_TRANSFORM = (
    "A TFLite model takes transformed features: run the SavedModel's transform_features signature "
    "(serialized raw tf.Example in, one tensor per feature out) and feed each output to the input of the same name."
)


@dataclasses.dataclass(frozen=True)
class Params:
    """CompactExport's parameters.

    Args:
        label: the label's transformed feature name.
        task: "binary", "multiclass" or "regression".
        enabled: False records an empty table and converts nothing.
        split: the split every form is scored on.
        batch_size: rows per scoring batch (TFLite inputs are resized to it).
        latency_calls: single-row calls timed per form (the median is reported).
    """

    label: str
    task: str = "binary"
    enabled: bool = True
    split: str = "test"
    batch_size: int = 1024
    latency_calls: int = 200

    def __post_init__(self):
        if self.latency_calls < 1 or self.batch_size < 1:
            raise ValueError("CompactExport: batch_size and latency_calls must be at least 1")


class CompactModels(ArtifactProperties):
    """A CompactExport artifact: the table of forms and the models left out.

    Args:
        split: the split scored.
        forms: one row per form of each converted model: model ("single", "ensemble"),
            families, form ("saved_model", "float16", "int8"), file (relative to this
            artifact; the SavedModel's to the Trainer's), bytes, its score on the split
            (`accuracy`, or `rmse` for a regression; `metric` names which), max_abs_diff
            (largest difference of an output from the SavedModel's on the split) and
            latency_ms (median single-row call).
        not_converted: model, families and reason of each model TFLite cannot convert.
        enabled: False when the component was switched off (the table is empty).
    """

    split: str
    forms: list[dict[str, Any]]
    not_converted: list[dict[str, Any]]
    enabled: bool = True


def families_of(model: Model) -> dict[str, list[str]]:
    """Exported model name -> the families of the models inside it."""
    each = [member["hyperparameters"].get("family", "model") for member in model.members]
    return {name: (each if name == "ensemble" else each[:1]) for name in model.exported()}


def read_split(transform: Artifact, split: str, label: str, batch_size: int):
    """(batches of numpy features, labels) of a transformed split."""
    import numpy as np

    from sluice.modeling.datasets import split_dataset

    batches, labels = [], []
    for features, target in split_dataset(transform, split, label, batch_size):
        batches.append({name: value.numpy() for name, value in features.items()})
        labels.append(target.numpy())
    return batches, np.concatenate(labels)


def score_metric(task: str) -> str:
    return "rmse" if task == "regression" else "accuracy"


def measure(predict, prepare, batches, labels, reference, latency_calls: int, task: str = "binary") -> dict[str, float]:
    """The score of `predict` over `batches` (accuracy, or RMSE for a regression), its
    largest difference from the `reference` outputs, and its median single-row latency.
    `prepare` turns a numpy batch into what `predict` takes, before any timing."""
    import numpy as np

    from sluice.modeling.compact import median_latency_ms
    from sluice.modeling.metrics import task_metrics

    outputs = np.concatenate([predict(prepare(batch)) for batch in batches])
    one_row = prepare({name: value[:1] for name, value in batches[0].items()})
    metric = score_metric(task)
    return {
        "metric": metric,
        metric: task_metrics(task, labels, outputs)[metric],
        "max_abs_diff": float(np.max(np.abs(outputs - reference))) if reference is not None else 0.0,
        "latency_ms": median_latency_ms(lambda: predict(one_row), latency_calls),
        "outputs": outputs,
    }


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    if not params.enabled:
        write_table(CompactModels(split=params.split, forms=[], not_converted=[], enabled=False), output)
        return
    import tensorflow as tf

    from sluice.modeling.compact import FOREST_REASON, FORMS, NotConvertible, TfliteModel, convert, size_on_disk
    from sluice.modeling.export import MAIN_OUTPUTS, load_serving_model
    from sluice.modeling.families import FOREST_FAMILIES

    trainer, transform = inputs["model"], inputs["transform"]
    model = Model.of(trainer)
    forms, not_converted, split = [], [], {}
    for name, families in families_of(model).items():
        if set(families) & set(FOREST_FAMILIES):
            not_converted.append({"model": name, "families": families, "reason": FOREST_REASON})
            continue
        if not split:
            split["batches"], split["labels"] = read_split(transform, params.split, params.label, params.batch_size)
        batches, labels = split["batches"], split["labels"]
        directory = model.exported()[name]
        saved_model = load_serving_model(trainer.file(directory))
        try:
            flatbuffers = {form: convert(saved_model, form) for form in FORMS}
        except NotConvertible as error:
            not_converted.append({"model": name, "families": families, "reason": str(error)})
            continue

        main_output = MAIN_OUTPUTS[params.task]

        def predict_saved(features, _model=saved_model):
            return _model.predict_transformed(features)[main_output].numpy()

        def as_tensors(batch):
            return {key: tf.constant(value) for key, value in batch.items()}

        saved = measure(predict_saved, as_tensors, batches, labels, None, params.latency_calls, params.task)
        forms.append(row(name, families, "saved_model", directory, size_on_disk(trainer.file(directory)), saved))
        for form, content in flatbuffers.items():
            file = f"{name}/{form}.tflite"
            with open(output.file(file), "wb") as handle:
                handle.write(content)
            tflite = TfliteModel(content, output=main_output)
            measured = measure(tflite.predict, dict, batches, labels, saved["outputs"], params.latency_calls, params.task)
            forms.append(row(name, families, form, file, len(content), measured))

    write_table(CompactModels(split=params.split, forms=forms, not_converted=not_converted), output)


def write_table(table: CompactModels, output: ArtifactDraft) -> None:
    with open(output.file(TABLE_JSON), "w") as handle:
        json.dump(table.model_dump(mode="json"), handle, indent=2, sort_keys=True)
    with open(output.file(TABLE_MARKDOWN), "w") as handle:
        handle.write(as_markdown(table))
    with open(output.file(TABLE_HTML), "w") as handle:
        handle.write(as_html(table))
    table.write(output)


def row(model: str, families: list[str], form: str, file: str, size: int, measured: dict) -> dict[str, Any]:
    return {
        "model": model,
        "families": families,
        "form": form,
        "file": file,
        "bytes": size,
        "metric": measured["metric"],
        measured["metric"]: measured[measured["metric"]],
        "max_abs_diff": measured["max_abs_diff"],
        "latency_ms": measured["latency_ms"],
    }


COLUMNS = ("model", "families", "form", "size", "score", "max difference from SavedModel", "single-row latency (median)")


def cells(form: Mapping[str, Any]) -> list[str]:
    return [
        form["model"],
        ", ".join(form["families"]),
        form["form"],
        f"{form['bytes'] / 1024:,.1f} KiB",
        f"{_metric(form)} {form[_metric(form)]:.4f}",
        "—" if form["form"] == "saved_model" else f"{form['max_abs_diff']:.2g}",
        f"{form['latency_ms']:.3f} ms",
    ]


def _metric(form: Mapping[str, Any]) -> str:
    return form.get("metric", "accuracy")  # tables written before other tasks held accuracy only


def not_converted_lines(table: CompactModels) -> list[str]:
    return [f"{item['model']} ({', '.join(item['families'])}): {item['reason']}" for item in table.not_converted]


def as_markdown(table: CompactModels) -> str:
    if not table.enabled:
        return "Compact export: switched off.\n"
    lines = [f"Compact export, scored on the {table.split} split (the SavedModel's size includes the transform graph).", ""]
    if table.forms:
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cells(form)) + " |" for form in table.forms]
        lines += ["", HOW_TO_TRANSFORM]
    if table.not_converted:
        lines += ["", "Not convertible to TFLite:", *(f"- {line}" for line in not_converted_lines(table))]
    return "\n".join(lines) + "\n"


def as_html(table: CompactModels) -> str:
    """An HTML fragment (a section, no page) for the evaluation report."""
    parts = ['<section class="compact-export">', f"<h2>Compact export (TFLite), on the {html.escape(table.split)} split</h2>"]
    if not table.enabled:
        parts.append("<p>Switched off.</p>")
    if table.forms:
        parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(form)) + "</tr>" for form in table.forms]
        parts.append("</tbody></table>")
        parts.append(f"<p>The SavedModel's size includes the transform graph. {html.escape(HOW_TO_TRANSFORM)}</p>")
    if table.not_converted:
        parts.append("<p>Not convertible to TFLite:</p><ul>")
        parts += [f"<li>{html.escape(line)}</li>" for line in not_converted_lines(table)]
        parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts) + "\n"


_SHORT = {"accuracy": "acc"}


def summary(artifact: Artifact) -> str:
    """One line per converted model (size, accuracy, latency of each form) and one per model left out."""
    table = CompactModels.of(artifact)
    if not table.enabled:
        return "Compact export: switched off"
    lines = []
    for model in dict.fromkeys(form["model"] for form in table.forms):
        shown = [
            f"{form['form']} {form['bytes'] / 1024:,.0f} KiB {_SHORT.get(_metric(form), _metric(form))} {form[_metric(form)]:.4f} {form['latency_ms']:.3f} ms"
            for form in table.forms
            if form["model"] == model
        ]
        lines.append(f"Compact export, {model}: " + "; ".join(shown))
    lines += [f"Compact export, not convertible: {line}" for line in not_converted_lines(table)]
    return "\n".join(lines) or "Compact export: no exported model"


SPEC = ComponentSpec(
    run=run, params=Params, output=CompactModels, inputs={"model": Model, "transform": TransformGraph}, summary=summary
)
