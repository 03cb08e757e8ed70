"""Progress of long steps: what a person watching a run sees while it works.

Components and the modeling code report through `task`, and never know where it shows.
An entry point chooses the display with `shown_by`: `LiveDisplay` (rich bars, spinners
and times, on a terminal) or `PlainLines` (one line of plain text per finished step, for
piped output and logs). Without one, reports go nowhere: library use, tests, Airflow
tasks and child processes print nothing.

    with progress.task("tuner", total=10, unit="trials", lines="each") as trials:
        for ...:
            ...
            trials.advance(note="best log_loss 0.4100 (dnn)")
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Iterator, Literal, TextIO

Lines = Literal["end", "each", "none"]


class Task:
    """One step in progress: how far it is, out of how much, and a note on how it goes."""

    def __init__(
        self,
        display: "Display",
        description: str,
        total: float | None,
        unit: str,
        lines: Lines,
        completed: float,
        estimate: bool,
        deadline: float | None = None,
    ):
        self.description = description
        self.total = total
        self.unit = unit
        self.lines = lines
        self.completed = completed
        self.note = ""
        self.finished = False
        self.started = time.monotonic()
        self._display = display
        self._done_before = completed  # found done (a resumed search's trials): not paced
        self._counted = completed > 0
        self._estimate = estimate
        self._deadline = deadline

    def advance(self, amount: float = 1, note: str | None = None) -> None:
        """`amount` more done (a trial, a training step); `note` replaces the note."""
        self.update(completed=self.completed + amount, note=note, advanced=True)

    def update(
        self, *, completed: float | None = None, total: float | None = None, note: str | None = None, advanced: bool = False
    ) -> None:
        """Sets how much is done (e.g. rows counted so far), the total or the note."""
        if completed is not None:
            self.completed = completed
            self._counted = True
        if total is not None:
            self.total = total
        if note is not None:
            self.note = note
        self._display.changed(self, advanced)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def seconds_left(self) -> float | None:
        """At the pace of what was done here (not what a resumed step found done), and never
        past the step's deadline; None when neither says."""
        done = self.completed - self._done_before
        if self.total is None or done <= 0 or not self._estimate:
            return None
        at_pace = max(0.0, self.elapsed / done * (self.total - self.completed))
        if self._deadline is None:
            return at_pace
        return min(at_pace, max(0.0, self._deadline - time.monotonic()))

    def count(self) -> str:
        """"3 of 10 trials", "1,234 rows", or "" while nothing is counted and the total is unknown."""
        done = f"{self.completed:,.0f}"
        if self.total is None:
            return f"{done} {self.unit}".strip() if self._counted else ""
        return f"{done} of {self.total:,.0f} {self.unit}".strip()

    def line(self) -> str:
        """The plain-text report of where the step is."""
        count = self.count()
        text = f"{self.description}: {count} in {_duration(self.elapsed)}" if count else f"{self.description} in {_duration(self.elapsed)}"
        if self.note:
            text += f"; {self.note}"
        left = self.seconds_left()
        if left is not None and not self.finished and self.completed < self.total:
            text += f"; about {_duration(left)} left"
        return text


class Display:
    """Shows nothing: the display when no entry point chose one."""

    def started(self, task: Task) -> None:
        pass

    def changed(self, task: Task, advanced: bool) -> None:
        pass

    def finished(self, task: Task) -> None:
        pass

    def close(self) -> None:
        pass

    def echo(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class PlainLines(Display):
    """One line of plain text per finished step (per advance for a `lines="each"` step)."""

    def __init__(self, stream: TextIO, indent: str = "    "):
        self._stream = stream
        self._indent = indent
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            self._stream.write(f"{self._indent}{text}\n")
            self._stream.flush()

    def changed(self, task: Task, advanced: bool) -> None:
        if advanced and task.lines == "each":
            self._say(task.line())

    def finished(self, task: Task) -> None:
        if task.lines == "end":
            self._say(task.line())


class LiveDisplay(PlainLines):
    """Rich progress bars on a terminal, with the plain lines printed above them.

    `echo` lines and lines `print`ed to `sys.stdout` while it shows appear above the bars
    too, when standard output is the same terminal.
    """

    def __init__(self, stream: TextIO, redirect_stdout: bool):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        super().__init__(stream)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            TextColumn("[dim]{task.fields[note]}"),
            console=Console(file=stream),
            transient=True,
            redirect_stdout=redirect_stdout,
            redirect_stderr=False,  # sys.stderr carries the libraries' output to their log
            refresh_per_second=4,
        )
        self._ids: dict[int, int] = {}
        self._stdout_shared = redirect_stdout
        self._progress.start()

    def _say(self, text: str) -> None:
        self._progress.console.print(f"{self._indent}{text}", markup=False, highlight=False, soft_wrap=True)

    def echo(self, text: str) -> None:
        if self._stdout_shared:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            super().echo(text)

    def _fields(self, task: Task) -> dict:
        left = task.seconds_left()
        return {"count": task.count(), "note": task.note, "left": f"~{_duration(left)} left" if left is not None else ""}

    def started(self, task: Task) -> None:
        self._ids[id(task)] = self._progress.add_task(task.description, total=task.total, **self._fields(task))

    def changed(self, task: Task, advanced: bool) -> None:
        super().changed(task, advanced)
        task_id = self._ids.get(id(task))
        if task_id is not None:
            self._progress.update(task_id, completed=task.completed, total=task.total, **self._fields(task))

    def finished(self, task: Task) -> None:
        super().finished(task)
        task_id = self._ids.pop(id(task), None)
        if task_id is not None:
            self._progress.remove_task(task_id)

    def close(self) -> None:
        self._progress.stop()


_display: Display = Display()


@contextlib.contextmanager
def task(
    description: str,
    total: float | None = None,
    unit: str = "",
    lines: Lines = "end",
    completed: float = 0,
    estimate: bool = True,
    deadline: float | None = None,
) -> Iterator[Task]:
    """A step in progress, shown by the current display while the block runs.

    Args:
        description: what runs, e.g. "transform: Beam job".
        total: how much there is to do, in `unit`s; None when unknown.
        unit: what is counted: "trials", "steps", "rows".
        lines: plain text to leave behind: a line at the end ("end"), one per advance
            ("each", e.g. per trial), or none ("none").
        completed: how much was already done before the block (a resumed search's trials).
        estimate: show the time left at the pace so far; off where parts differ widely
            in length (a pipeline's components).
        deadline: `time.monotonic()` by which the step stops whatever is left (a time
            budget): the time left shown never goes past it.
    """
    display = _display
    step = Task(display, description, total, unit, lines, completed, estimate, deadline)
    display.started(step)
    try:
        yield step
    finally:
        step.finished = True
        display.finished(step)


def echo(text: str) -> None:
    """Writes a line of the program's own output to standard output (above live bars)."""
    _display.echo(text)


@contextlib.contextmanager
def shown_by(display: Display) -> Iterator[Display]:
    """Shows every `task` of the block with `display`, then closes it."""
    global _display
    previous, _display = _display, display
    try:
        yield display
    finally:
        _display = previous
        display.close()


def display_for(stream: TextIO, *, live: bool, redirect_stdout: bool = False) -> Display:
    """`LiveDisplay` when `live` and `stream` is a terminal, else `PlainLines`."""
    if live and stream.isatty():
        return LiveDisplay(stream, redirect_stdout)
    return PlainLines(stream)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
