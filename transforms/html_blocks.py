"""Body tree -> ordered text blocks, and the block-level boilerplate filter.

Input is the ``<body>`` element trafilatura builds (its own small vocabulary:
``p``, ``head``, ``list/item``, ``quote``, ``code``, ``table/row/cell``, ``lb``,
``ref``, ``hi``, ``graphic``). Output is ``[(text, tag), ...]`` with tag in
{"p", "h", "li", "blockquote", "pre"}.

The filter removes what survives a main-content extractor but is not article text:
the headline repeated as first block, link teasers ("SEE MORE ..."), share/follow/
newsletter calls to action, photo credits, and everything from the start of a
comment section on. Rules are about the *kind* of text, never about a site.
"""
from __future__ import annotations

import re
import unicodedata

from lxml import etree

BLOCK_TAGS = ("p", "h", "li", "blockquote", "pre")

# A block whose words are (nearly) all link text and that is this short is a teaser or
# a link list ("China furious at Macron ... [INSIGHT]"), not prose. Calibrated on the
# extraction dev split (scripts/eval_extraction.py): share 0.6/0.8/0.9 with 20/40/60
# words gave F1 0.974/0.976/0.977; 0.9 also spares paragraphs with a long inline link.
TEASER_LINK_SHARE = 0.9
TEASER_MAX_WORDS = 60

# Boilerplate phrases are only trusted on short blocks; a long paragraph that happens
# to start with "Related" is prose.
BOILERPLATE_MAX_WORDS = 40

_WS = re.compile(r"[ \t\r\f\v\u00a0\u2009\u200a\u200b\u202f\u3000]+")
_WORD = re.compile(r"\w+")

# Calls to action, teaser labels, credits. Matched at the start of a short block,
# case-insensitive. Kept in one place so the vocabulary is easy to review.
_BOILERPLATE_START = re.compile(
    r"""^\W*(
        (read|see|watch|listen|view|click|tap)\s+(more|also|next|here|now|the\s+full)\b
      | (also\s+on|also\s+read|also\s+see|don'?t\s+miss|must\s+read|more\s+from|more\s+on)\b
      | (related|recommended|suggested|trending|popular|most\s+(read|popular|viewed)|top\s+stories|newsletter)
          (\s+(stories|articles?|posts?|content|links?|reading|videos?|news|coverage))?\s*([:|»›>\-–—]|$)
      | (sign\s+up|subscribe|follow\s+us|follow\s+@|join\s+us|join\s+our|get\s+our|get\s+the\s+latest|download\s+(our|the)\s+app)\b
      | (share\s+(this|on|it|via)|like\s+this\s+(story|article)|tweet\s+this|click\s+to\s+tweet|email\s+this|print\s+this)\b
      | (teilen\s+auf|partager\s+sur|compartir\s+en|compartilhe|compartilhar\s+no|condividi\s+su)\b
      | (advertisement|sponsored(\s+content)?|ad\s*choices|paid\s+content|affiliate\s+disclosure)\b
      | (photo|image|picture|video|graphic|illustration|file\s+photo|credit|source|foto|bild|imagem|imagen|immagine|cr[ée]dito)s?\s*(:|credit\b|courtesy)
      | (copyright|©|\(c\)\s*\d{4}|all\s+rights\s+reserved)
      | (tags?|categor(y|ies)|filed\s+under|topics?)\s*:
      | (by\s+submitting\s+this\s+form|by\s+clicking|we\s+use\s+cookies|this\s+site\s+uses\s+cookies)
      | (if\s+you\s+(enjoyed|liked|value|appreciate)\s+(this|our|reading))
      | ((additional\s+)?(reporting|writing|editing|compiled|produced)\s+by\b.*\b(editing|reporting|writing)\s+by\b)
      | (leia\s+(também|mais)|veja\s+(também|mais)|leggi\s+anche|lee\s+también|lire\s+aussi|voir\s+aussi|mehr\s+zum\s+thema|lesen\s+sie\s+auch)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# Photo credits and captions: short blocks that are a credit, by their shape. A credit
# word alone is not enough: "Video by a bystander showed police ..." and "A file photo of
# the minister ..." are prose; "Photo by Jane Doe", "(AP Photo/Evan Vucci)", "... John
# Smith/Getty Images" and "©" lines are credits.
CAPTION_MAX_WORDS = 25
_CREDIT_WORD = r"(?:photo(?:graph)?|image|picture|video|graphic|illustration|credit|getty|shutterstock|istock(?:photo)?|reuters|afp|ap|epa|alamy)"
_CREDIT_BY = re.compile(
    r"^\W*(?:(?:file\s+)?photo(?:graph)?|image|picture|video|graphic|illustration)s?\s*(?:credit\s*)?(?:by|courtesy(?:\s+of)?)\s+(.+)$",
    re.IGNORECASE,
)
_CREDIT_BRACKET = re.compile(r"[(\[]([^()\[\]]{1,80})[)\]]\W*$")
_CREDIT_WORD_RE = re.compile(r"\b" + _CREDIT_WORD + r"s?\b", re.IGNORECASE)
# Case-sensitive: the agency as a name after a separator ("Jane Doe / Reuters").
_CREDIT_AGENCY_END = re.compile(
    r"(?:[/|:–—]|\s-)\s*(?:[A-Z][\w.'’-]*\s+){0,3}(?:Getty Images|Shutterstock|iStock(?:photo)?|AP Photo|AFP|EPA|Alamy|PA Media|PA|Reuters)\W*$"
)
_IMAGE_SOURCE = re.compile(r"^\W*image\s+source\b", re.IGNORECASE)
# Words that may sit between names in a credit ("Will Dunham in Washington and Tom Brown").
_NAME_LINKS = frozenset("and in from at with of the de da du van von der den bin al la le y & via for".split())


def _names_only(text: str) -> bool:
    """True when every word is a name (capitalised) or a word that links names."""
    toks = [t.strip(".:'’\"") for t in re.split(r"[\s,;/|()\[\]]+", text)]
    toks = [t for t in toks if t and t not in "-–—"]
    return bool(toks) and all(t[:1].isupper() or t.casefold() in _NAME_LINKS for t in toks)


def is_credit(text: str) -> bool:
    """A photo/media credit line (see `_CREDIT_BY` and friends above)."""
    if "©" in text or _IMAGE_SOURCE.match(text):
        return True
    m = _CREDIT_BY.match(text)
    if m and _names_only(m.group(1)):
        return True
    m = _CREDIT_BRACKET.search(text)
    if m and _CREDIT_WORD_RE.search(m.group(1)) and _names_only(m.group(1)):
        return True
    return bool(_CREDIT_AGENCY_END.search(text))


# "Follow Newsbeat on Instagram, Facebook and Twitter": a social call to action.
_SOCIAL = re.compile(
    r"^\W*(follow|like|find|join|connect\s+with)\b.{0,80}?\b(on|via)\s+(twitter|facebook|instagram|youtube|linkedin|tiktok|snapchat|telegram|whatsapp)\b",
    re.IGNORECASE,
)

# Widget labels glued to the end of a paragraph ("... every day. Click To Tweet").
_TRAILING_WIDGET = re.compile(r"\s*\bclick\s+to\s+tweet\s*$", re.IGNORECASE)

# The start of a comment section or of the "more stories" tail: the block itself and
# everything after it goes. Only applied after the first third of the article so an
# opening line cannot wipe the body. Every form is a whole block that is a widget's
# label ("12 comments", "Leave a Reply", "One thought on “Title”", "Related posts"),
# never a sentence that mentions comments ("No comment was immediately available from
# the ministry." is reporting).
_TAIL_START = re.compile(
    r"""^\W*(
        (\d+|one|no)\s+(comments?|responses?|replies|thoughts?)(\s+(yet|so\s+far))?
      | (\d+|one)\s+(thoughts?|responses?|comments?|replies)\s+(on|to)\s+["“”'‘’«].{1,200}["“”'‘’»]
      | leave\s+a\s+(reply|comment)|post\s+a\s+comment|add\s+a\s+comment|join\s+the\s+(discussion|conversation)
      | (show|view|read)\s+(all\s+)?(\d+\s+)?comments|comments?\s*(\(\d+\))?
      | you\s+(may|might)\s+also\s+(like|enjoy)|related\s+(posts?|articles?|stories|content|news)|more\s+stories
      | recommended\s+for\s+you|read\s+next|up\s+next|what\s+to\s+read\s+next
      | about\s+the\s+author|about\s+us
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


def clean_text(text: str) -> str:
    """Normalise whitespace inside a block, keeping deliberate line breaks."""
    text = unicodedata.normalize("NFC", text)
    lines = (_WS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _text_and_link_words(el: etree._Element) -> tuple[str, int]:
    """Text of a body element (``lb`` -> newline) and the number of words inside links."""
    parts: list[str] = []
    link_words = 0

    def walk(node: etree._Element, in_link: bool) -> None:
        nonlocal link_words
        if node.tag == "lb":
            parts.append("\n")
        elif node.tag == "graphic":
            pass
        elif node.text:
            parts.append(node.text)
            if in_link:
                link_words += len(_WORD.findall(node.text))
        for child in node:
            if not isinstance(child.tag, str):  # comments, processing instructions
                if child.tail:
                    parts.append(child.tail)
                continue
            walk(child, in_link or child.tag == "ref")
            if child.tail:
                parts.append(child.tail)
                if in_link:
                    link_words += len(_WORD.findall(child.tail))

    walk(el, el.tag == "ref")
    return clean_text("".join(parts)), link_words


# trafilatura's block-level vocabulary; anything else in a container is inline.
_BLOCK_LEVEL = frozenset({"head", "p", "list", "quote", "code", "table", "div", "section", "main", "article", "body", "doc"})


class RawBlock:
    __slots__ = ("text", "tag", "link_words")

    def __init__(self, text: str, tag: str, link_words: int = 0) -> None:
        self.text, self.tag, self.link_words = text, tag, link_words


def body_to_blocks(body: etree._Element | None) -> list[RawBlock]:
    """Flatten trafilatura's body tree into blocks in document order."""
    out: list[RawBlock] = []
    if body is None:
        return out

    def emit(el: etree._Element, tag: str) -> None:
        text, link_words = _text_and_link_words(el)
        if text:
            out.append(RawBlock(text, tag, link_words))

    def visit(el: etree._Element, quote: bool = False) -> None:
        # trafilatura can leave text between two block children as a tail at container
        # level, and inline elements (hi, ref) there too: such runs form one paragraph.
        run: list[str] = [el.text or ""]

        def flush() -> None:
            text = clean_text("".join(run))
            if text:
                out.append(RawBlock(text, "blockquote" if quote else "p"))
            run.clear()

        for child in el:
            tag = child.tag if isinstance(child.tag, str) else None
            if tag is None or tag not in _BLOCK_LEVEL:
                if tag == "lb":
                    run.append("\n")
                elif tag is not None and tag != "graphic":
                    run.append(_text_and_link_words(child)[0])
            else:
                flush()
                visit_block(child, quote)
            run.append(child.tail or "")
        flush()

    def visit_block(child: etree._Element, quote: bool) -> None:
        tag = child.tag
        if tag == "head":
            emit(child, "h")
        elif tag == "p":
            emit(child, "blockquote" if quote else "p")
        elif tag == "list":
            for item in child:
                if item.tag == "item":
                    # nested lists inside an item stay in the item's text
                    emit(item, "li")
                elif item.tag == "head":
                    emit(item, "h")
        elif tag == "quote":
            if any(isinstance(c.tag, str) and c.tag in _BLOCK_LEVEL for c in child):
                visit(child, quote=True)
            else:
                emit(child, "blockquote")
        elif tag == "code":
            text = "".join(child.itertext()).strip("\n")
            if text.strip():
                out.append(RawBlock(text, "pre"))
        elif tag == "table":
            for row in child.iter("row"):
                cells = [clean_text(" ".join(c.itertext())) for c in row if c.tag == "cell"]
                text = " | ".join(c for c in cells if c)
                if text:
                    out.append(RawBlock(text, "p"))
        else:  # div, section, ... containers
            visit(child, quote)

    visit(body)
    return out


def _norm_for_compare(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def is_boilerplate(block: RawBlock) -> bool:
    words = len(_WORD.findall(block.text))
    if words == 0:
        return True
    if words <= TEASER_MAX_WORDS and block.link_words / words >= TEASER_LINK_SHARE and block.tag != "h":
        return True
    if words <= BOILERPLATE_MAX_WORDS and (_BOILERPLATE_START.match(block.text) or _SOCIAL.match(block.text)):
        return True
    if words <= CAPTION_MAX_WORDS and block.tag != "h" and is_credit(block.text):
        return True
    return False


def count_link_words(blocks: list[RawBlock], anchor_texts: set[str]) -> None:
    """Set ``link_words`` from the page's anchor texts (normalised, >= 3 words).

    trafilatura's body drops links (asking it to keep them changes what it keeps), so
    link density is measured by finding the page's anchor texts inside each block.
    """
    if not anchor_texts:
        return
    for b in blocks:
        n = _norm_for_compare(b.text)
        if not n or len(n.split()) > TEASER_MAX_WORDS:
            continue
        covered = 0
        padded = f" {n} "
        for a in anchor_texts:
            if f" {a} " in padded:
                covered += len(a.split())
        b.link_words = max(b.link_words, covered)


def anchor_texts(tree: etree._Element) -> set[str]:
    out = set()
    for a in tree.iter("a"):
        n = _norm_for_compare("".join(a.itertext()))
        if n.count(" ") >= 2:
            out.add(n)
    return out


def filter_blocks(blocks: list[RawBlock], title: str | None) -> list[RawBlock]:
    """Drop boilerplate blocks; cut a trailing comment / more-stories section."""
    if not blocks:
        return blocks
    # 1. The headline (and deck) repeated at the top belong in ``title``, not in the
    #    body: headings before the first paragraph go, and so does a first block
    #    that repeats the title.
    while blocks and blocks[0].tag == "h" and len(blocks) > 1:
        del blocks[0]
    if title:
        t = _norm_for_compare(title)
        n = _norm_for_compare(blocks[0].text)
        if len(blocks) > 1 and n and (n == t or (len(n) > 20 and n in t)):
            del blocks[0]
    # 2. Comment sections and "you may also like" tails.
    total_words = sum(len(_WORD.findall(b.text)) for b in blocks)
    seen = 0
    for i, b in enumerate(blocks):
        if seen >= total_words / 3 and len(_WORD.findall(b.text)) <= 12 and _TAIL_START.match(b.text):
            blocks = blocks[:i]
            break
        seen += len(_WORD.findall(b.text))
    # 3. Block-level boilerplate.
    kept = []
    for b in blocks:
        b.text = _TRAILING_WIDGET.sub("", b.text)
        if not is_boilerplate(b):
            kept.append(b)
    # 4. Headings left dangling at the very end (their section was boilerplate).
    while kept and kept[-1].tag == "h":
        kept.pop()
    return kept
