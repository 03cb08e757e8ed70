"""Sluice installed from its wheel, not editable, runs a pipeline kept outside this repository.

The wheel is built from a copy of the sources and installed without dependencies into a
fresh virtualenv whose only other path is the development environment's site-packages,
added as a plain path (see `installed`). No source tree is importable there: every module
of sluice, components and pipelines comes from the wheel, or the test fails.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.sluice.generated_table import write_trips

pytestmark = pytest.mark.beam  # the installed ExampleGen runs a Beam job
SOURCES = ("pyproject.toml", "README.md", "sluice", "components", "pipelines")

# Run by the installed interpreter: where each package comes from, what the pipelines
# directory holds, and one Beam step of the user's pipeline from the installed components.
PROBE = """
import json, os, sys
from pathlib import Path
import components, pipelines, sluice
from sluice.execute import execute
from sluice.registry import available_pipelines, pipeline_module

trips = pipeline_module("trips")
config = trips.Config(home=sys.argv[1])
pipeline = trips.create_pipeline(config)
outcome = execute(pipeline.component("example_gen"), Path(sys.argv[1]) / "run", {})
census = pipeline_module("census")
census_config = census.Config(home=sys.argv[1])
print(json.dumps({
    "files": [sluice.__file__, components.__file__, pipelines.__file__, sys.modules["sluice.user_pipelines.trips.pipeline"].__file__],
    "path": sys.path,
    "finders": [type(finder).__name__ if not isinstance(finder, type) else finder.__name__ for finder in sys.meta_path],
    "pipelines": available_pipelines(),
    "components": [component.name for component in pipeline.components],
    "rows": json.loads((Path(outcome.uri) / "artifact.json").read_text())["properties"]["rows"],
    "census_files": [census_config.data.train_file, census_config.data.test_file, census_config.reviewed_schema],
}))
sys.stdout.flush()
os._exit(0)
"""


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv holding Sluice's wheel (no dependencies); returns its directory."""
    work = tmp_path_factory.mktemp("installed")
    source = work / "source"  # a copy: a build leaves build/ and *.egg-info behind it
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(source)])
    (wheel,) = (work / "dist").glob("sluice-*.whl")

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    purelib = _run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # The dependencies, from the development environment. A plain path line puts that
    # directory on sys.path without running its .pth files, so its editable-install finder
    # (which maps sluice, components and pipelines to a source tree) never loads.
    Path(purelib, "development_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)])
    return venv


def test_an_installed_sluice_finds_and_runs_a_pipeline_outside_the_repository(installed, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    data = write_trips(project / "trips.csv", rows=120)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(SLUICE_PIPELINES=str(project / "my_pipelines"), SLUICE_HOME=str(tmp_path / "home"))

    def sluice(*args):
        return _run([str(installed / "bin" / "sluice"), *args], cwd=project, env=env)

    sluice("init", "trips", "--data", str(data), "--label", "tipped")
    assert (project / "my_pipelines" / "trips" / "pipeline.py").exists()
    assert sluice("list").stdout.split() == ["census", "trips"]

    probe = _run([str(installed / "bin" / "python"), "-c", PROBE, str(tmp_path / "home")], cwd=project, env=env)
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    site = str(installed / "lib")
    *packages, trips = found["files"]
    assert all(file.startswith(site) for file in packages), packages
    assert trips == str(project / "my_pipelines" / "trips" / "pipeline.py")
    assert not [entry for entry in found["path"] if entry and Path(entry).resolve() in (ROOT, ROOT.parent / "main")]
    assert not [finder for finder in found["finders"] if "Editable" in finder]
    assert found["components"][0] == "example_gen" and found["components"][-1] == "pusher"
    assert found["rows"] == {"read": 120, "written": 120, "rejected": 0}
    assert all(file.startswith(site) and Path(file).is_file() for file in found["census_files"]), found["census_files"]
