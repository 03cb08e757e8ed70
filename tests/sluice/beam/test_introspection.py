"""What Sluice remembers of Beam's introspection gives Beam the answers it would compute.

Beam's functions may already be patched in this process: the comparison with pristine
Beam runs in fresh processes (tests/sluice/beam/test_library_patches.py); here the expected
answers are written out.
"""

import inspect

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import BagStateSpec
from apache_beam.typehints import decorators
import pytest

from sluice.beam.patches.introspection import remembered_dofn_specs, remembered_signature, remembered_view_as
from sluice.beam.jobs import pipeline_options

BAG = BagStateSpec("seen", beam.coders.VarIntCoder())


class _Holder:
    def method(self, a, b=2, *rest, key=None):
        return a

    def varargs_only(*args):
        return args


def _plain(x, y=1):
    return x + y


class _Stateful(beam.DoFn):
    def process(self, element, seen=beam.DoFn.StateParam(BAG)):
        seen.add(1)
        yield element


class _Stateless(beam.DoFn):
    def process(self, element):
        yield element


def test_remembered_signatures_equal_inspects():
    get_signature = remembered_signature(decorators.get_signature)
    holder = _Holder()
    for func in (_plain, holder.method, _Holder.method, holder.varargs_only, len, beam.Map):
        assert get_signature(func) == inspect.signature(func), func
        assert get_signature(func) == inspect.signature(func), func  # the remembered answer too


def test_remembered_dofn_specs_are_the_declared_ones():
    get_dofn_specs = remembered_dofn_specs(userstate.get_dofn_specs)
    for dofn, expected in ((_Stateful(), ({BAG}, set())), (_Stateful(), ({BAG}, set())), (_Stateless(), (set(), set()))):
        assert get_dofn_specs(dofn) == expected
    specs = get_dofn_specs(_Stateful())
    specs[0].clear()  # a caller changing its copy does not change the next answer
    assert get_dofn_specs(_Stateful()) == ({BAG}, set())


def test_an_instance_holding_a_bound_method_is_inspected_itself():
    get_dofn_specs = remembered_dofn_specs(userstate.get_dofn_specs)
    plain, odd = _Stateless(), _Stateless()
    odd.extra = _Stateful().process  # a bound method with a state parameter, on this instance only
    assert get_dofn_specs(plain) == (set(), set())
    assert get_dofn_specs(odd) == ({BAG}, set())


def test_remembered_views_share_the_options_values():
    view_as = remembered_view_as(PipelineOptions.view_as)
    options = PipelineOptions(["--direct_running_mode=in_memory"])
    direct = view_as(options, DirectOptions)
    assert view_as(options, DirectOptions) is direct
    assert direct.direct_running_mode == "in_memory"
    view_as(options, StandardOptions).streaming = True
    assert options.view_as(StandardOptions).streaming is True
    other = view_as(PipelineOptions(["--direct_running_mode=multi_processing"]), DirectOptions)
    assert other.direct_running_mode == "multi_processing"


@pytest.mark.beam
def test_a_stateful_pipeline_runs_with_the_remembered_answers():
    with beam.Pipeline(options=pipeline_options()) as pipeline:
        out = pipeline | beam.Create([("a", 1), ("a", 2), ("b", 3)]) | beam.ParDo(_Stateful()) | beam.Values()
        assert_that(out, equal_to([1, 2, 3]))
