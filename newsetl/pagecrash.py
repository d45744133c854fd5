"""Pages whose HTML extraction killed the run's own process.

A crash in a parser's C code, or the OOM killer on one page, kills the process that extracts
it. On worker processes `fanout.run_alone` finds such a page and rejects it. A batch whose
HTML is one chunk (or a run with one worker) is extracted in the run's own process, where
nothing survives to catch it, and every re-run would die on the same page. So:

- before each page it extracts itself, the run writes the page's key (`process.page_key`)
  over the one before in a journal in the state folder (`extracting`: one write call, no
  fsync; what a killed process wrote stays in the file), and empties it once the batch's
  pages are extracted, so a run killed later (landing, say) blames no page;
- a run that ends, even with a Python error, removes the journal;
- the next run finds a key in a journal left behind: the page that was being extracted
  when the process died, and it counts one death for that page (`crashed-pages.json`);
- a page with CRASH_LIMIT deaths is rejected on sight, with CRASHED_REASON, and is not
  extracted again. Two deaths, because one may be bad luck (a run killed by hand while it
  extracted that page).

The key holds the pipeline version, so a new version tries such pages again; deleting
`crashed-pages.json` does too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from newsetl.process import needs_extraction

CRASH_LIMIT = 2
CRASHED_REASON = ("HTML extraction killed newsetl twice (a crash or out of memory) while it read this page: "
                  "page set aside")


class CrashJournal:
    """The journal of the pages a run extracts in its own process (`with` it for the run)."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "extracting"
        self.counts_path = Path(state_dir) / "crashed-pages.json"
        self.counts: dict[int, int] = {}
        if self.counts_path.exists():
            self.counts = {int(k): int(v) for k, v in json.loads(self.counts_path.read_text(encoding="utf-8")).items()}
        self._fh = None

    def __enter__(self) -> "CrashJournal":
        left = self.path.read_text(encoding="utf-8", errors="replace").strip() if self.path.exists() else ""
        if left.isdigit():  # the run before died while it extracted this page (else: no page)
            key = int(left)
            self.counts[key] = self.counts.get(key, 0) + 1
            tmp = self.counts_path.with_name(self.counts_path.name + ".tmp")
            tmp.write_text(json.dumps({str(k): v for k, v in sorted(self.counts.items())}), encoding="utf-8")
            os.replace(tmp, self.counts_path)
        self.path.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.path.unlink(missing_ok=True)

    def crashed(self, key: int | None) -> bool:
        """The page killed CRASH_LIMIT runs: reject it, do not extract it."""
        return key is not None and self.counts.get(key, 0) >= CRASH_LIMIT

    def extracting(self, key: int | None) -> None:
        """Say which page the run extracts next, over the one before (one write call of a
        fixed width); None: no page (the batch's pages are done)."""
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "wb", buffering=0)  # noqa: SIM115  (closed at __exit__)
        os.pwrite(self._fh.fileno(), b"%20s\n" % (b"" if key is None else b"%d" % key), 0)


def extract_here(journal: CrashJournal, docs, page_keys: list[int | None], done: dict[int, object] | None,
                 extract) -> dict[int, object]:
    """`extract(html, url)` of the documents that need it and are not in `done` (by index),
    in this process, each named in the journal first (the journal is blank again once they
    are done); a page that killed CRASH_LIMIT runs gets CRASHED_REASON (a reject) instead."""
    out = dict(done or {})
    extracted_here = False
    for i, d in enumerate(docs):
        if i in out or not needs_extraction(d):
            continue
        key = page_keys[i]
        if journal.crashed(key):
            out[i] = CRASHED_REASON
            continue
        journal.extracting(key)
        out[i] = extract(d.html, d.url)
        extracted_here = True
    if extracted_here:
        journal.extracting(None)
    return out

