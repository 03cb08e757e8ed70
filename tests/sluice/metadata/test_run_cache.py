"""The cache across runs: an execution whose inputs, code and settings match a sealed
artifact in the store reuses it, says so, and downstream steps read it as their own."""

from pathlib import Path

from sluice.artifacts import read_artifact
from sluice.metadata.store import MetadataStore, executions
from sluice.runner import run_pipeline
from tests.sluice.metadata.tiny_components import tiny_pipeline


def _statuses(store: MetadataStore, run_id: str) -> dict[str, tuple[str, int | None]]:
    from sluice.metadata.store import runs

    rows = store.rows(
        executions.select().join(runs, runs.c.id == executions.c.run_id).where(runs.c.run_id == run_id).order_by(executions.c.id)
    )
    return {row.component: (row.status, row.reused_from) for row in rows}


def test_a_second_run_reuses_every_step_and_records_it(tmp_path, capfd):
    source = tmp_path / "words.txt"
    source.write_text("hello")
    store = MetadataStore(tmp_path / "metadata.sqlite")
    first = run_pipeline(tiny_pipeline(source), tmp_path / "artifacts", run_id="one", store=store)
    second = run_pipeline(tiny_pipeline(source), tmp_path / "artifacts", run_id="two", store=store)

    assert [o.reused for o in first.outcomes] == [False, False]
    assert [o.reused for o in second.outcomes] == [True, True]
    for before, after in zip(first.outcomes, second.outcomes):
        assert after.reused_from == str(Path(before.uri).resolve())
        assert Path(after.uri).is_symlink() and read_artifact(after.uri).fingerprint == read_artifact(before.uri).fingerprint
    assert Path(second.uri("shout"), "out.txt").read_text() == "hello!"
    assert "reusing" in capfd.readouterr().err
    originals = {component: status for component, (status, _) in _statuses(store, "one").items()}
    assert originals == {"read": "succeeded", "shout": "succeeded"}
    reused = _statuses(store, "two")
    assert {c: s for c, (s, _) in reused.items()} == {"read": "reused", "shout": "reused"}
    assert all(origin is not None for _, origin in reused.values())
    assert store.execution_that_wrote(second.uri("shout")) == store.execution_that_wrote(first.uri("shout"))


def test_a_changed_setting_or_input_file_or_no_cache_recomputes(tmp_path):
    source = tmp_path / "words.txt"
    source.write_text("hello")
    store = MetadataStore(tmp_path / "metadata.sqlite")
    root = tmp_path / "artifacts"
    run_pipeline(tiny_pipeline(source), root, run_id="one", store=store)

    changed_setting = run_pipeline(tiny_pipeline(source, suffix="?"), root, run_id="two", store=store)
    assert [o.reused for o in changed_setting.outcomes] == [True, False]
    assert Path(changed_setting.uri("shout"), "out.txt").read_text() == "hello?"

    source.write_text("goodbye")  # the same path, other bytes
    changed_file = run_pipeline(tiny_pipeline(source), root, run_id="three", store=store)
    assert [o.reused for o in changed_file.outcomes] == [False, False]
    assert Path(changed_file.uri("shout"), "out.txt").read_text() == "goodbye!"

    uncached = run_pipeline(tiny_pipeline(source), root, run_id="four", store=store, cache=False)
    assert [o.reused for o in uncached.outcomes] == [False, False]
    assert not any(Path(o.uri).is_symlink() for o in uncached.outcomes)


def test_a_deleted_artifact_is_not_reused(tmp_path):
    import shutil

    source = tmp_path / "words.txt"
    source.write_text("hello")
    store = MetadataStore(tmp_path / "metadata.sqlite")
    root = tmp_path / "artifacts"
    first = run_pipeline(tiny_pipeline(source), root, run_id="one", store=store)
    shutil.rmtree(first.uri("read"))
    second = run_pipeline(tiny_pipeline(source), root, run_id="two", store=store)
    # read is made again, with the same bytes, so shout's inputs are unchanged
    assert [o.reused for o in second.outcomes] == [False, True]
    assert not Path(second.uri("read")).is_symlink()
    assert Path(second.uri("shout"), "out.txt").read_text() == "hello!"


def test_a_child_process_run_as_an_airflow_task_runs_it_records_into_the_same_store(tmp_path):
    """The uncached run happens in a child that records into the same store; the reuse is
    found without starting one."""
    import os

    from sluice.execute import run_in_child

    source = tmp_path / "words.txt"
    source.write_text("hello")
    store = MetadataStore(tmp_path / "metadata.sqlite")
    read = tiny_pipeline(source).component("read")
    in_process = run_pipeline(tiny_pipeline(source), tmp_path / "artifacts", run_id="cli", store=store)
    task = run_in_child(read, str(tmp_path / "artifacts" / "tiny" / "airflow"), {}, store_path=str(store.path))
    uncached = run_in_child(read, str(tmp_path / "artifacts" / "tiny" / "airflow-2"), {}, store_path=str(store.path), cache=False)

    assert task.reused and task.reused_from == str(Path(in_process.uri("read")).resolve())
    assert not uncached.reused
    rows = store.rows(executions.select().order_by(executions.c.id))
    assert [(row.component, row.status) for row in rows] == [("read", "succeeded"), ("shout", "succeeded"), ("read", "reused"), ("read", "succeeded")]
    assert rows[2].pid == os.getpid() and rows[2].reused_from == rows[0].id
    assert rows[3].pid != os.getpid()
