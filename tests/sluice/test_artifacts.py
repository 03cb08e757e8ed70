import json

import pytest

from sluice.artifacts import ArtifactError, fingerprint_dir, read_artifact, write_artifact


def test_sealed_artifact_records_type_producer_properties_and_inputs(tmp_path):
    with write_artifact(tmp_path / "upstream", type="Examples", producer="test") as draft:
        open(draft.file("data.txt"), "w").write("rows")
    upstream = read_artifact(tmp_path / "upstream")

    with write_artifact(tmp_path / "down", type="Statistics", producer="p:run", inputs={"examples": upstream}) as draft:
        open(draft.file("sub", "stats.pb"), "w").write("stats")
        draft.properties["rows"] = 3

    record = json.loads((tmp_path / "down" / "artifact.json").read_text())
    assert record["type"] == "Statistics" and record["producer"] == "p:run"
    assert record["properties"] == {"rows": 3}
    assert record["inputs"]["examples"] == {"uri": upstream.uri, "fingerprint": upstream.fingerprint}
    assert "tensorflow" in record["library_versions"] and "apache-beam" in record["library_versions"]
    assert read_artifact(tmp_path / "down").fingerprint == fingerprint_dir(tmp_path / "down")


def test_failure_inside_the_draft_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with write_artifact(tmp_path / "a", type="T", producer="test") as draft:
            open(draft.file("half.txt"), "w").write("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_artifact_is_never_overwritten(tmp_path):
    with write_artifact(tmp_path / "a", type="T", producer="test") as draft:
        open(draft.file("x"), "w").write("good")
    with pytest.raises(ArtifactError, match="already exists"):
        with write_artifact(tmp_path / "a", type="T", producer="test") as draft:
            open(draft.file("x"), "w").write("bad")
    assert (tmp_path / "a" / "x").read_text() == "good"


def test_directory_without_artifact_json_is_not_an_artifact(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(ArtifactError, match="not a finished artifact"):
        read_artifact(tmp_path / "half")


def test_fingerprint_follows_content_and_names_not_time(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("one")
    first = fingerprint_dir(tmp_path / "a")
    assert fingerprint_dir(tmp_path / "a") == first
    (tmp_path / "a" / "f").write_text("two")
    assert fingerprint_dir(tmp_path / "a") != first
    (tmp_path / "a" / "f").write_text("one")
    (tmp_path / "a" / "f").rename(tmp_path / "a" / "g")
    assert fingerprint_dir(tmp_path / "a") != first
