"""Last-resort main text: every text block of the page outside page chrome.

Used only when trafilatura returns nothing (tiny pages, fragments such as the
``html`` field of a JSONL record). No scoring: it drops the obvious chrome
(nav, header, footer, aside, forms, scripts, hidden nodes) and keeps the rest in order.
"""
from __future__ import annotations

from lxml import etree

from newsetl.transforms.html_blocks import RawBlock, clean_text

_DROP = {
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside",
    "form", "button", "select", "textarea", "iframe", "svg", "canvas", "figure",
    "figcaption", "menu", "dialog", "input", "label", "object", "embed",
}
_BLOCK = {
    "p": "p", "h1": "h", "h2": "h", "h3": "h", "h4": "h", "h5": "h", "h6": "h",
    "li": "li", "blockquote": "blockquote", "pre": "pre", "dd": "p", "dt": "p",
    "td": "p", "th": "p", "caption": "p",
}


def _hidden(el: etree._Element) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or "display:none" in style or el.get("aria-hidden") == "true"


# An element holding any of these is walked into; one holding none is a block itself.
_STRUCTURAL = set(_BLOCK) | {"div", "section", "article", "main", "ul", "ol", "dl", "table",
                             "tbody", "thead", "tr", "body", "center", "hr"}


def _has_structure(el: etree._Element) -> bool:
    return any(isinstance(d.tag, str) and d.tag.lower() in _STRUCTURAL for d in el.iterdescendants())


def dom_blocks(tree: etree._Element) -> list[RawBlock]:
    body = tree.find(".//body")
    root = body if body is not None else tree
    out: list[RawBlock] = []

    def add(text: str, tag: str, link_words: int = 0) -> None:
        text = clean_text(text)
        if text:
            out.append(RawBlock(text, tag, link_words))

    def visit(el: etree._Element) -> None:
        # Text and inline elements between blocks form one paragraph ("run").
        run: list[str] = [el.text or ""]
        run_links = 0

        def flush() -> None:
            nonlocal run_links
            add("".join(run), "p", run_links)
            run.clear()
            run_links = 0

        for child in el:
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag is not None and tag not in _DROP and not _hidden(child):
                if _has_structure(child):
                    flush()
                    visit(child)
                elif tag in _BLOCK or tag in _STRUCTURAL:
                    flush()
                    link_words = sum(len("".join(_texts(a)).split()) for a in child.iter("a"))
                    add("".join(_texts(child)), _BLOCK.get(tag, "p"), link_words)
                elif tag == "br":
                    run.append("\n")
                else:  # inline: a, span, b, em, ...
                    text = "".join(_texts(child))
                    run.append(text)
                    if tag == "a" or child.find(".//a") is not None:
                        run_links += len(text.split())
            if child.tail:
                run.append(child.tail)
        flush()

    visit(root)
    return out


def _texts(el: etree._Element):
    """Text of ``el`` and its descendants, skipping dropped subtrees but not their tails."""
    if el.text:
        yield el.text
    for child in el:
        tag = child.tag.lower() if isinstance(child.tag, str) else None
        if tag == "br":
            yield "\n"
        elif tag is not None and tag not in _DROP:
            yield from _texts(child)
        if child.tail:
            yield child.tail
