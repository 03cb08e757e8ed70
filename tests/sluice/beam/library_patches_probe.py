"""Run in a fresh process by test_library_patches.py; prints what it found as JSON.

    python -m tests.sluice.beam.library_patches_probe pristine   # Beam's answers, Sluice never called
    python -m tests.sluice.beam.library_patches_probe sluice     # after a Sluice Beam step, patched unless
                                                            # SLUICE_LIBRARY_PATCHES=off

It answers the questions Beam asks of DoFns, functions and options (signatures, state and
timer specs, option views) for a fixed set of them, twice each (the patch answers the
second from memory), and with `sluice` also reports which of Beam's functions, coders and
runners are in place after a step.
"""

from __future__ import annotations

import functools
import json
import logging
import sys

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions, TypeOptions
from apache_beam.transforms import core, ptransform, userstate, util
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, CombiningValueStateSpec, TimerSpec
from apache_beam.typehints import decorators

BAG = BagStateSpec("seen", beam.coders.VarIntCoder())
TOTAL = CombiningValueStateSpec("total", combine_fn=sum)
TIMER = TimerSpec("flush", TimeDomain.WATERMARK)


class Stateful(beam.DoFn):
    def process(self, element, seen=beam.DoFn.StateParam(BAG), total=beam.DoFn.StateParam(TOTAL)):
        seen.add(element[1])
        total.add(element[1])
        yield element[0], total.read()


class WithTimer(beam.DoFn):
    def process(self, element, flush=beam.DoFn.TimerParam(TIMER), seen=beam.DoFn.StateParam(BAG)):
        yield element

    @userstate.on_timer(TIMER)
    def on_flush(self):
        return []


class Stateless(beam.DoFn):
    def process(self, element, *extra, key=None):
        yield element


class Holder:
    def method(self, a, b=2, *rest, key=None):
        return a

    @staticmethod
    def static(x, /, y):
        return x

    @classmethod
    def klass(cls, z):
        return z

    def varargs_only(*args):
        return args


def plain(x, y=1):
    return x + y


def _callables():
    holder = Holder()
    odd = Stateless()
    odd.extra = Stateful().process  # a bound method with state parameters, on one instance
    return {
        "plain": plain,
        "lambda": lambda a, *b, c=3: a,
        "bound": holder.method,
        "unbound": Holder.method,
        "static": Holder.static,
        "classmethod": holder.klass,
        "varargs_bound": holder.varargs_only,
        "partial": functools.partial(plain, 1),
        "builtin": len,
        "class": beam.Map,
        "dofn_process": Stateful().process,
        "dofn_timer": WithTimer().on_flush,
        "stateless_process": odd.process,
    }


def _spec(spec) -> list:
    return [type(spec).__name__, spec.name, str(getattr(spec, "time_domain", ""))]


def _specs(answer) -> list:
    return [sorted(_spec(spec) for spec in specs) for specs in answer]


def introspection_answers() -> dict:
    answers: dict = {"signatures": {}, "dofn_specs": {}, "stateful": {}, "views": {}}
    for module in (decorators, core, ptransform, util):
        for name, func in _callables().items():
            for attempt in (1, 2):
                try:
                    answer = str(module.get_signature(func))
                except Exception as error:  # the same failure is the same answer
                    answer = f"{type(error).__name__}: {error}"
                answers["signatures"][f"{module.__name__}.{name}#{attempt}"] = answer
    odd = Stateless()
    odd.extra = Stateful().process
    for name, dofn in (("stateful", Stateful()), ("timer", WithTimer()), ("stateless", Stateless()), ("odd", odd)):
        for attempt in (1, 2):
            answers["dofn_specs"][f"{name}#{attempt}"] = _specs(userstate.get_dofn_specs(dofn))
            answers["stateful"][f"{name}#{attempt}"] = userstate.is_stateful_dofn(dofn)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory", "--job_name=probe"])
    for cls in (StandardOptions, DirectOptions, TypeOptions, StandardOptions):
        answers["views"][cls.__name__] = options.view_as(cls).get_all_options(drop_default=True)
    options.view_as(StandardOptions).streaming = True  # a view's change shows in every view
    answers["views"]["streaming_after_set"] = options.view_as(StandardOptions).streaming
    answers["views"]["all_after_set"] = sorted(options.get_all_options(drop_default=True).items())
    answers["stateful_pipeline"] = _run_stateful_pipeline()
    answers["numeric_statistics"] = _numeric_statistics()
    return answers


def _numeric_statistics() -> str:
    """TFDV's statistics (Sluice's options: 100 quantile buckets) of numbers with repeats,
    a constant column and infinities, serialized: their histograms come from
    `quantiles_util.generate_equi_width_histogram`."""
    import numpy as np
    import pandas as pd
    import tensorflow_data_validation as tfdv

    from sluice.validation.statistics import stats_options

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "normal": rng.normal(40, 12, 3000),
        "ages": rng.integers(17, 90, 3000).astype(float),
        "mostly_zero": np.where(rng.random(3000) < 0.9, 0.0, rng.exponential(5000, 3000)),
        "constant": np.full(3000, 2.5),
        "with_infinities": np.concatenate([rng.normal(size=2990), [np.inf] * 6, [-np.inf] * 4]),
    })
    return tfdv.generate_statistics_from_dataframe(frame, stats_options()).SerializeToString().hex()


def _count_output(key_and_total):
    beam.metrics.Metrics.counter("probe", "%s=%d" % key_and_total).inc()


def _run_stateful_pipeline() -> dict:
    from apache_beam.metrics.metric import MetricsFilter

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"]))
    _ = pipeline | beam.Create([("a", 1), ("a", 2), ("b", 3), ("a", 4)]) | beam.ParDo(Stateful()) | beam.Map(_count_output)
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace("probe"))["counters"]
    return {counter.key.metric.name: counter.committed for counter in counters}


class CountRows(beam.CombineFn):
    def create_accumulator(self):
        return 0

    def add_input(self, total, batch):
        return total + batch.num_rows

    def merge_accumulators(self, totals):
        return sum(totals)

    def extract_output(self, total):
        return total


def _fan_out_edge_types(pipeline) -> list[str]:
    found = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if type(getattr(node.transform, "fn", None)).__name__ == "SplitHotCold":
                found.extend(str(output.element_type) for output in node.outputs.values())

    pipeline.visit(Visitor())
    return sorted(found)


def after_a_sluice_step(parquet: str) -> dict:
    """Runs a Sluice Beam step (ReadColumnarCopy, a hot-key combine) and reports what is in place."""
    import tensorflow_data_validation  # noqa: F401  registers TFDV's coder for record batches

    from sluice.beam.columnar import ReadColumnarCopy
    from sluice.beam.jobs import new_pipeline, run_and_count

    pipeline = new_pipeline()
    in_process_pickle = _pickled(CountRows())
    _ = (
        pipeline
        | ReadColumnarCopy(parquet)
        | beam.Map(lambda batch: ("all", batch)).with_output_types(beam.typehints.Tuple[str, pa.RecordBatch])
        | beam.CombinePerKey(CountRows()).with_hot_key_fanout(2)
        | beam.Map(lambda kv: beam.metrics.Metrics.counter("probe", "rows").inc(kv[1]))
    )
    rows = run_and_count(pipeline, "probe")["rows"]
    after_job_pickle = _pickled(CountRows())  # the job has ended: nothing in this process is being built
    multi = new_pipeline(["--direct_running_mode=multi_processing", "--direct_num_workers=1"])
    runner = type(multi.runner).__name__
    other_process_pickle = _pickled(CountRows())
    getattr(multi.runner, "close", lambda: None)()

    return {
        "rows": rows,
        "beam_functions": {
            "userstate.get_dofn_specs": userstate.get_dofn_specs.__module__,
            **{f"{m.__name__}.get_signature": m.get_signature.__module__ for m in (decorators, core, ptransform, util)},
            "PipelineOptions.view_as": PipelineOptions.view_as.__module__,
        },
        "record_batch_coder": type(beam.coders.registry.get_coder(pa.RecordBatch)).__module__,
        "equi_width_histogram": _equi_width_histogram_module(),
        "fan_out_edge_types": _fan_out_edge_types(pipeline),
        "multi_processing_runner": runner,
        "pickles": {"in_process_job": in_process_pickle, "after_the_job": after_job_pickle, "multi_processing_job": other_process_pickle},
    }


def _equi_width_histogram_module() -> str:
    from tensorflow_data_validation.utils import quantiles_util

    return quantiles_util.generate_equi_width_histogram.__module__


def _pickled(fn) -> dict:
    """How Beam's pickler stores `fn` now (the first bytes after base64) and whether it loads back."""
    import base64

    from apache_beam.internal import pickler

    encoded = pickler.dumps(fn)
    return {"starts": base64.b64decode(encoded)[:6].decode("latin-1"), "loads": type(pickler.loads(encoded)).__name__}


def main() -> None:
    from sluice.process import exit_now

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    mode = sys.argv[1]
    result = {}
    if mode == "sluice":
        result["after_step"] = after_a_sluice_step(sys.argv[2])
    result["answers"] = introspection_answers()
    print(json.dumps(result), flush=True)
    exit_now(0)


if __name__ == "__main__":
    main()
