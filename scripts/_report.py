"""Shared by the eval and bench scripts: replace one marked section of a Markdown report,
and render a Markdown table (`md_table`).

A section is everything between `<!-- NAME:start -->` and `<!-- NAME:end -->`; other
sections (written by other scripts) are kept. The file is replaced atomically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nScores written by `make eval` and `make bench`; do not edit between the markers.\n"


def replace_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = body.strip("\n")
    if body.startswith(start):  # callers may pass a block that already has its markers
        body = body[len(start):]
    if body.endswith(end):
        body = body[: -len(end)]
    block = f"{start}\n{body.strip(chr(10))}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def md_table(header: Iterable[object], rows: Iterable[Iterable[object]], max_cell: int = 120) -> str:
    """A Markdown table: `|` in cells escaped, newlines flattened, cells longer than
    `max_cell` characters cut to `max_cell - 3` plus "..."."""
    header = [str(h) for h in header]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for row in rows:
        cells = [str(v).replace("|", "\\|").replace("\n", " ") for v in row]
        cells = [c if len(c) <= max_cell else c[: max_cell - 3] + "..." for c in cells]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
