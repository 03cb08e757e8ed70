"""Version listing, keep-N retention and rollback of a serving directory (and `sluice rollback`)."""

import subprocess
import sys

import pytest

from sluice.serving.versions import (
    ROLLED_BACK,
    VersionError,
    latest_version,
    next_version,
    retire_old_versions,
    rollback,
    served_version,
    versions,
)


def make_versions(serving_dir, *numbers):
    for number in numbers:
        (serving_dir / str(number)).mkdir(parents=True)
        (serving_dir / str(number) / "saved_model.pb").write_text(f"model {number}")


def test_only_integer_directories_are_versions(tmp_path):
    make_versions(tmp_path, 3, 20, 100)
    (tmp_path / ".101.incoming").mkdir()  # a push in progress
    (tmp_path / ROLLED_BACK / "200").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("")
    assert versions(tmp_path) == [3, 20, 100]  # numeric order, not text order
    assert served_version(tmp_path) == 100 and latest_version(tmp_path) == tmp_path / "100"
    assert served_version(tmp_path / "absent") is None
    assert next_version(tmp_path) > 200  # never reuses a rolled-back number


def test_retention_keeps_the_newest_and_never_the_served_one(tmp_path):
    make_versions(tmp_path, 1, 2, 3, 4, 5, 6)
    assert retire_old_versions(tmp_path, keep=4) == [1, 2]
    assert versions(tmp_path) == [3, 4, 5, 6]
    assert retire_old_versions(tmp_path, keep=10) == []
    assert retire_old_versions(tmp_path, keep=1) == [3, 4, 5] and versions(tmp_path) == [6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["6"]  # no half-deleted leftovers
    with pytest.raises(ValueError, match="never deleted"):
        retire_old_versions(tmp_path, keep=0)


def test_rollback_moves_the_versions_above_aside_and_serves_the_target(tmp_path):
    make_versions(tmp_path, 10, 20, 30)
    done = rollback(tmp_path, to=10)
    assert served_version(tmp_path) == 10 and versions(tmp_path) == [10]
    assert done.moved == {20: tmp_path / ROLLED_BACK / "20", 30: tmp_path / ROLLED_BACK / "30"}
    assert (tmp_path / ROLLED_BACK / "30" / "saved_model.pb").read_text() == "model 30"  # moved, not deleted
    assert "version 10 is now served" in done.describe() and "moved 30 ->" in done.describe()


def test_rollback_without_a_target_serves_the_previous_version(tmp_path):
    make_versions(tmp_path, 1, 2, 3)
    assert rollback(tmp_path).served == 2 and versions(tmp_path) == [1, 2]
    assert rollback(tmp_path).served == 1
    with pytest.raises(VersionError, match="nothing to roll back to \\(only version 1 present\\)"):
        rollback(tmp_path)


def test_rollback_refuses_an_unknown_version_and_changes_nothing(tmp_path):
    make_versions(tmp_path, 1, 2)
    with pytest.raises(VersionError, match="no version 7; present: 1, 2"):
        rollback(tmp_path, to=7)
    assert versions(tmp_path) == [1, 2] and not (tmp_path / ROLLED_BACK).exists()


def test_a_number_rolled_back_twice_keeps_both_copies(tmp_path):
    make_versions(tmp_path, 1, 2)
    rollback(tmp_path)
    make_versions(tmp_path, 2)  # pushed again by hand under the same number
    rollback(tmp_path)
    assert sorted(p.name for p in (tmp_path / ROLLED_BACK).iterdir()) == ["2", "2-1"]


def sluice_cli(*args):
    code = "import sys; from sluice.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_rollback_command(tmp_path):
    serving = tmp_path / "serving" / "census"
    make_versions(serving, 5, 6, 7)
    done = sluice_cli("rollback", "census", "--home", str(tmp_path), "--to", "5")
    assert done.returncode == 0, done.stderr
    assert "version 5 is now served" in done.stdout and f"moved 7 -> {serving / ROLLED_BACK / '7'}" in done.stdout
    assert versions(serving) == [5]
    refused = sluice_cli("rollback", "census", "--home", str(tmp_path), "--to", "9")
    assert refused.returncode == 1 and "no version 9; present: 5" in refused.stderr


def test_a_killed_pushs_staging_is_removed_and_a_live_ones_stays(tmp_path):
    import os
    import socket

    from sluice.serving.versions import remove_abandoned, work_dir

    make_versions(tmp_path, 5)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    abandoned = [tmp_path / f".6.incoming-{dead.pid}@{host}", tmp_path / f".4.deleting-{dead.pid}@{host}", tmp_path / ".7.incoming"]
    live = [work_dir(tmp_path, 8, "incoming"), tmp_path / f".9.incoming-{os.getpid()}@other-host", tmp_path / ROLLED_BACK]
    for directory in abandoned + live:
        (directory / "variables").mkdir(parents=True)
    assert sorted(remove_abandoned(tmp_path)) == sorted(abandoned)
    assert all(directory.exists() for directory in live) and versions(tmp_path) == [5]
