"""newsetl.pagecrash: a journal of the pages a run extracts in its own process, so that a
page whose extraction kills the run is known to the next run and, after CRASH_LIMIT deaths,
rejected instead of extracted (the whole path with a real crash: tests/test_kill_landing.py)."""

from __future__ import annotations

import pytest

from newsetl.pagecrash import CRASH_LIMIT, CRASHED_REASON, CrashJournal, extract_here
from newsetl.records import RawDoc


def _doc(i: int, html: str | None = "<p>x</p>", text: str | None = None) -> RawDoc:
    return RawDoc(source="s", input_ref=f"p{i}", html=html, text=text, url=f"https://example.org/{i}")


def _die_on(key: int, state) -> None:
    """What a run killed while extracting page `key` leaves: its journal, not removed."""
    j = CrashJournal(state).__enter__()
    j.extracting(7)
    j.extracting(key)  # over the key before it
    j._fh.close()


def test_a_run_that_ends_leaves_no_journal_and_counts_nothing(tmp_path):
    with CrashJournal(tmp_path) as j:
        seen = []
        out = extract_here(j, [_doc(0), _doc(1)], [10, 11], None,
                           lambda html, url: seen.append((tmp_path / "extracting").read_text().strip()) or url)
        assert seen == ["10", "11"]  # each page named in the journal while it is extracted
        assert (tmp_path / "extracting").read_text().strip() == ""  # and none once they are done
    assert out == {0: "https://example.org/0", 1: "https://example.org/1"}
    assert not (tmp_path / "extracting").exists() and not (tmp_path / "crashed-pages.json").exists()
    # A Python error is no crash: the journal goes too.
    with pytest.raises(ValueError), CrashJournal(tmp_path) as j:
        extract_here(j, [_doc(0)], [10], None, lambda html, url: (_ for _ in ()).throw(ValueError("bad")))
    assert not (tmp_path / "extracting").exists()
    with CrashJournal(tmp_path) as j:
        assert j.counts == {}


def test_the_page_a_dead_run_was_extracting_is_rejected_after_the_limit(tmp_path):
    calls = []

    def extract(html, url):
        calls.append(url)
        return url

    docs = [_doc(0), _doc(1), _doc(2, html=None, text="plain text"), _doc(3)]
    keys = [10, 11, None, 13]
    for death in range(1, CRASH_LIMIT + 1):
        _die_on(11, tmp_path)
        with CrashJournal(tmp_path) as j:
            assert j.counts == {11: death}
            assert j.crashed(11) == (death >= CRASH_LIMIT) and not j.crashed(10) and not j.crashed(None)
    calls.clear()
    with CrashJournal(tmp_path) as j:
        out = extract_here(j, docs, keys, {3: "done on a worker"}, extract)
    # page 1 is not extracted again; page 2 has no HTML; page 3 was extracted elsewhere
    assert out == {0: "https://example.org/0", 1: CRASHED_REASON, 3: "done on a worker"}
    assert calls == ["https://example.org/0"]
    # A journal left blank (a run that died after its pages were extracted, while it
    # landed them, say) counts nothing.
    assert (tmp_path / "extracting").exists() is False
    with CrashJournal(tmp_path) as j:
        extract_here(j, [_doc(0)], [10], None, extract)
        j._fh.close()
        j._fh = None
        left = (tmp_path / "extracting").read_text()
    (tmp_path / "extracting").write_text(left)
    with CrashJournal(tmp_path) as j:
        assert j.counts == {11: CRASH_LIMIT}
    # Nor does a journal a crash left garbled: the next run goes on.
    (tmp_path / "extracting").write_bytes(b"12\x00\xff")
    with CrashJournal(tmp_path) as j:
        assert j.counts == {11: CRASH_LIMIT}
