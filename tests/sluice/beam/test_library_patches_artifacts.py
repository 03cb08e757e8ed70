"""The census sample up to Transform, library patches on and off: the same artifacts.

Each run is a fresh process (bench/library_patches.py); the "off" one runs Beam, TFDV
and tfx-bsl as shipped.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.library_patches import BUDGET, SAMPLE, compare_artifacts, run_census

UNTIL_TRANSFORM = ["example_gen", "statistics_gen", "schema_gen", "example_validator", "skew_validator", "transform"]


@pytest.mark.beam
def test_patches_on_and_off_write_the_same_artifacts(tmp_path):
    overrides = [*BUDGET, *SAMPLE]
    with ThreadPoolExecutor(2) as pool:
        on, off = pool.map(lambda switch: run_census(switch, str(tmp_path / switch), overrides, "transform"), ("on", "off"))
    assert list(on["seconds"]) == UNTIL_TRANSFORM
    assert all(on["patches"].values()) and not any(off["patches"].values()), (on["patches"], off["patches"])

    verdicts = compare_artifacts(on["run_dir"], off["run_dir"], UNTIL_TRANSFORM)

    assert all(verdict.startswith("same") for verdict in verdicts.values()), verdicts
    assert "transformed records" in verdicts["transform"]  # the graph was judged, by its outputs
