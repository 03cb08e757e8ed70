"""Remembering what Beam reads from DoFn methods and pipeline options.

Beam inspects the same DoFns over and over: every check of whether a DoFn is stateful
walks all of its methods and asks `inspect.signature` about each, at construction, at
translation and again in each bundle processor. A Transform with the analyzer cache over
five spans makes about 5,000 such walks and 160,000 signature calls for a few hundred
distinct functions, several seconds of a run. Signatures do not change, and a DoFn's state
and timer specs are declared on its class, so both are computed once and reused; so is
each view of a pipeline's options, which Beam otherwise parses afresh per transform.

It rebinds Beam functions in the modules that call them, so it is installed only through
`sluice.beam.patches` (gated to the Beam version it was tested with).
"""

from __future__ import annotations

import inspect
import types
import weakref
from typing import Any

_signatures: "weakref.WeakKeyDictionary[types.FunctionType, inspect.Signature]" = weakref.WeakKeyDictionary()
_class_specs: "weakref.WeakKeyDictionary[type, tuple[frozenset, frozenset]]" = weakref.WeakKeyDictionary()
_views: "weakref.WeakKeyDictionary[Any, dict[type, Any]]" = weakref.WeakKeyDictionary()
_installed = False
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def remembered_signature(original):
    """`original` (Beam's `get_signature`), remembered for plain functions and methods."""

    def get_signature(func):
        function = func.__func__ if isinstance(func, types.MethodType) else func
        # Only plain functions: other callables may compute or change their signature.
        if type(function) is not types.FunctionType or hasattr(function, "__signature__"):
            return original(func)
        try:
            signature = _signatures[function]
        except KeyError:
            signature = _signatures[function] = original(function)
        if function is func:
            return signature
        parameters = list(signature.parameters.values())
        if not parameters or parameters[0].kind not in _POSITIONAL:
            return original(func)
        return signature.replace(parameters=parameters[1:])  # bound: the instance is given

    return get_signature


def remembered_dofn_specs(original):
    """`original` (Beam's `get_dofn_specs`), remembered per DoFn class.

    Beam walks every method the instance has; only an instance attribute holding a bound
    method can make one instance differ from its class, and such DoFns are not remembered.
    """

    def get_dofn_specs(dofn):
        if any(isinstance(value, types.MethodType) for value in getattr(dofn, "__dict__", {}).values()):
            return original(dofn)
        cls = type(dofn)
        try:
            states, timers = _class_specs[cls]
        except KeyError:
            states, timers = (frozenset(specs) for specs in original(dofn))
            _class_specs[cls] = (states, timers)
        return set(states), set(timers)

    return get_dofn_specs


def remembered_view_as(original):
    """`original` (`PipelineOptions.view_as`), remembered per options object and view class.

    Each view parses the flags again with a fresh argparse parser, and Beam asks for one
    on every transform it applies. Views share the options' values, so one per class
    serves every caller.
    """

    def view_as(options, cls):
        views = _views.setdefault(options, {})
        view = views.get(cls)
        if view is None:
            view = views[cls] = original(options, cls)
        return view

    return view_as


def install() -> None:
    """Makes Beam's modules use the remembering functions; idempotent."""
    global _installed
    if _installed:
        return
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.transforms import core, ptransform, userstate, util
    from apache_beam.typehints import decorators

    get_signature = remembered_signature(decorators.get_signature)
    for module in (decorators, core, ptransform, util):
        module.get_signature = get_signature
    userstate.get_dofn_specs = remembered_dofn_specs(userstate.get_dofn_specs)
    PipelineOptions.view_as = remembered_view_as(PipelineOptions.view_as)
    _installed = True
