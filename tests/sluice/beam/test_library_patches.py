"""Library patches: the same answers as pristine Beam, gated to tested versions, switchable off.

Patched and pristine Beam are compared across fresh processes (`library_patches_probe`):
in this process Beam may already be patched by an earlier test.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluice.beam import patches
from tests.helpers import ROOT


def _probe(*args: str, switch: str | None = None) -> tuple[dict, str]:
    env = {key: value for key, value in os.environ.items() if key != patches.SWITCH_ENV}
    env["PYTHONPATH"] = str(ROOT)
    if switch is not None:
        env[patches.SWITCH_ENV] = switch
    completed = subprocess.run(
        [sys.executable, "-m", "tests.sluice.beam.library_patches_probe", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1]), completed.stderr


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("columns") / "columns.parquet"
    pq.write_table(pa.table({"x": [[1], [2], [3], [4], [5]]}), path, row_group_size=2)
    return str(path)


@pytest.fixture(scope="module")
def pristine():
    return _probe("pristine")[0]


@pytest.fixture(scope="module")
def patched(parquet):
    return _probe("sluice", parquet)[0]


@pytest.fixture(scope="module")
def switched_off(parquet):
    return _probe("sluice", parquet, switch="off")


@pytest.fixture
def fresh_reports(monkeypatch):
    monkeypatch.setattr(patches, "_reported", set())
    monkeypatch.delenv(patches.SWITCH_ENV, raising=False)


@pytest.mark.beam  # fresh processes run a Beam step
def test_patched_beam_answers_as_pristine_beam_does(pristine, patched):
    functions = patched["after_step"]["beam_functions"]
    assert set(functions.values()) == {"sluice.beam.patches.introspection"}, functions  # really patched
    assert patched["answers"] == pristine["answers"]  # the statistics' histograms to the bit, too
    assert len(pristine["answers"]["numeric_statistics"]) > 1000
    assert pristine["answers"]["stateful_pipeline"] == {"a=1": 1, "a=3": 1, "b=3": 1, "a=7": 1}


@pytest.mark.beam  # fresh processes run a Beam step
def test_the_patched_step_uses_sluices_coder_typed_edges_and_warm_workers(patched):
    after = patched["after_step"]
    assert after["rows"] == 5
    assert after["record_batch_coder"] == "sluice.beam.patches.record_batch_coder"
    assert after["equi_width_histogram"] == "sluice.beam.patches.equi_width_histogram"
    assert all("RecordBatch" in edge for edge in after["fan_out_edge_types"]), after
    assert after["multi_processing_runner"] == "WarmWorkersRunner"
    # A job in this process keeps its pickles uncompressed; one run by other processes gets bz2.
    pickles = after["pickles"]
    assert pickles["in_process_job"] == {"starts": "SLUICE", "loads": "CountRows"}
    for job in ("after_the_job", "multi_processing_job"):
        assert pickles[job]["starts"].startswith("BZh") and pickles[job]["loads"] == "CountRows", job


@pytest.mark.beam  # fresh processes run a Beam step
def test_switched_off_a_step_leaves_beam_tfdv_and_the_runner_as_shipped(pristine, switched_off):
    found, log = switched_off
    after = found["after_step"]
    assert after["rows"] == 5
    assert all(module.startswith("apache_beam.") for module in after["beam_functions"].values()), after
    assert after["record_batch_coder"] == "tensorflow_data_validation.types"  # TFDV's own
    assert after["equi_width_histogram"] == "tensorflow_data_validation.utils.quantiles_util"
    assert after["fan_out_edge_types"] == ["Any", "Any"]
    assert after["multi_processing_runner"] == "SwitchingDirectRunner"
    assert {job: pickle["starts"][:3] for job, pickle in after["pickles"].items()} == {"in_process_job": "BZh", "after_the_job": "BZh", "multi_processing_job": "BZh"}
    assert found["answers"] == pristine["answers"]
    for name in set(patches.PATCHES) - {"autograph_rules"}:  # one line per Beam patch, however many steps asked
        assert log.count(f"library patch {name!r} off") == 1, log


def test_every_patch_applies_to_the_installed_versions(fresh_reports):
    # If this fails after an upgrade, the patches step aside: test them with the new
    # versions and update their `tested_with` (docs/library_patches.md).
    assert {name: patches.active(name) for name in patches.PATCHES} == {name: True for name in patches.PATCHES}


def test_a_patch_steps_aside_on_another_version_with_one_log_line(fresh_reports, caplog):
    tested = dict(patches.PATCHES["record_batch_coder"].tested_with)
    assert patches.active("record_batch_coder", versions=tested)
    caplog.set_level(logging.INFO, logger=patches.__name__)
    newer_beam = {**tested, "apache-beam": "2.68.0"}
    assert not patches.active("record_batch_coder", versions=newer_beam)
    assert not patches.active("record_batch_coder", versions=newer_beam)
    assert not patches.active("record_batch_coder", versions={**tested, "tfx-bsl": None})
    assert len(caplog.records) == 1
    assert "tested with apache-beam 2.67.0" in caplog.text and "found apache-beam 2.68.0" in caplog.text


def test_the_switch_turns_every_patch_off_whatever_the_versions(fresh_reports, monkeypatch):
    monkeypatch.setenv(patches.SWITCH_ENV, "off")
    for name, patch in patches.PATCHES.items():
        assert not patches.active(name, versions=dict(patch.tested_with))
        assert not patches.install(name)


def test_the_switch_can_name_the_patches_it_turns_off(fresh_reports, monkeypatch):
    monkeypatch.setenv(patches.SWITCH_ENV, "off:introspection, warm_workers")
    assert {name: patches.active(name) for name in patches.PATCHES} == {
        "introspection": False, "record_batch_coder": True, "warm_workers": False, "pickle_compression": True,
        "equi_width_histogram": True, "autograph_rules": True,
    }
    monkeypatch.setenv(patches.SWITCH_ENV, "off:introspektion")
    with pytest.raises(ValueError, match="no library patch.*introspektion"):
        patches.active("introspection")
