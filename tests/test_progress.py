"""The run's progress display: silent when disabled, counts/rate/time left when enabled."""

from __future__ import annotations

import io
import sys

from newsetl.progress import Progress


def test_disabled_is_silent(capsys):
    p = Progress(False, 10)
    p.update(4)
    p.update(3)
    p.close()
    assert p.done == 7
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_enabled_shows_done_of_total_and_rate(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    p = Progress(True, 10)
    p.update(4)
    p.update(3)
    p.close()
    text = err.getvalue()
    assert "7/10" in text and "/s" in text


def test_total_grows_when_the_estimate_falls_short(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    p = Progress(True, 5)
    p.update(8)
    p.close()
    assert p.total == 8 and "8/8" in err.getvalue()


def test_unknown_total_still_counts(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    p = Progress(True, None)
    p.update(12)
    p.close()
    assert "12" in err.getvalue()
