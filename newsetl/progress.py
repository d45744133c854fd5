"""The progress display of a run: articles done of the total, rate and time left, drawn
by rich on a terminal and silent everywhere else (logs, CI, pipes)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


class _RateColumn(TextColumn):
    """Articles per second, from rich's own moving-window speed estimate."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.0f}/s" if speed else "-/s", style="progress.data.speed")


class Progress:
    """Articles done, rate and time left on a terminal; silent in logs and CI.

    `enabled` is the caller's decision (the flow passes `settings.progress`, or whether
    stderr is a terminal); `total` is an estimate of the articles to come, or None when
    the sources cannot be counted cheaply (then no bar and no time left, only counts)."""

    def __init__(self, enabled: bool, total: int | None = None):
        self.enabled = enabled
        self.total = total
        self.done = 0
        self._bar: RichProgress | None = None
        if not enabled:
            return
        columns = [TextColumn("articles"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                   _RateColumn(), TimeElapsedColumn()]
        if total:
            columns.append(TimeRemainingColumn())
        # stderr, like the old progress line: stdout carries the run summary.
        self._bar = RichProgress(*columns, console=Console(file=sys.stderr), transient=False)
        self._task = self._bar.add_task("articles", total=total or None)
        self._bar.start()

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is None:
            return
        # An estimate can fall short (a feed grew, a folder had more files): keep the bar
        # honest by growing the total rather than running past 100 %.
        if self.total is not None and self.done > self.total:
            self.total = self.done
            self._bar.update(self._task, total=self.total)
        self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
