"""A Pusher SIGKILLed in the middle of copying a version: no half version is ever served,
and the rerun pushes the whole version and removes the killed copy."""

import json
import os
import signal
import subprocess
import sys
import time

from sluice.artifacts import read_artifact
from sluice.execute import execute
from sluice.serving.manifest import read_manifest
from sluice.serving.versions import versions
from tests.helpers import ROOT

# The Pusher in a child process whose file copies are slowed (each file, once copied, waits),
# so the kill lands while the version is half copied.
SLOW_PUSH = r"""
import json, shutil, sys, time
from sluice.execute import execute
from sluice.pipeline import Component
copy = shutil.copy2
def slow_copy(source, destination, **kwargs):
    copied = copy(source, destination, **kwargs)
    time.sleep(1)
    return copied
shutil.copy2 = slow_copy
request = json.loads(sys.argv[1])
execute(Component(**request["component"]), request["run_dir"], request["inputs"])
"""


def test_a_push_killed_mid_copy_leaves_nothing_served_and_the_rerun_completes(census_run, artifact, tmp_path):
    import dataclasses

    from pipelines.census.pipeline import create_pipeline

    serving_dir = tmp_path / "serving"
    pusher = create_pipeline(census_run.config).component("pusher")
    pusher = dataclasses.replace(pusher, params={**pusher.params, "serving_dir": str(serving_dir)}, after=())
    run_dir = tmp_path / "run"
    inputs = {"model": census_run.result.uri("trainer"), "evaluation": census_run.result.uri("evaluator")}
    request = {"component": dataclasses.asdict(pusher), "run_dir": str(run_dir), "inputs": inputs}
    child = subprocess.Popen([sys.executable, "-c", SLOW_PUSH, json.dumps(request)], cwd=ROOT)
    deadline = time.monotonic() + 120
    while not [p for p in serving_dir.glob(".*.incoming-*/*")] and time.monotonic() < deadline:
        assert child.poll() is None, "the push ended before the kill point"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert versions(serving_dir) == [], "a half-copied version is visible to a server"
    assert [p.name for p in serving_dir.iterdir() if ".incoming-" in p.name]
    assert not (run_dir / "pusher").exists()

    pushed = read_artifact(execute(pusher, run_dir, inputs).uri)
    (version,) = versions(serving_dir)
    assert pushed.properties["version"] == version
    assert [p.name for p in serving_dir.iterdir()] == [str(version)], "the killed copy was not removed"
    chosen = artifact("trainer").path / artifact("evaluator").properties["chosen_model"]
    copied = {p.relative_to(serving_dir / str(version)).as_posix() for p in (serving_dir / str(version)).rglob("*") if p.is_file()}
    assert copied == {p.relative_to(chosen).as_posix() for p in chosen.rglob("*") if p.is_file()} | {"manifest.json"}
    assert read_manifest(serving_dir / str(version))["version"] == version
    assert not list(run_dir.glob(".pusher.draft-*"))
