"""Bytes -> str for web content (pages, feeds, WARC bodies).

Order of evidence, most trusted first:

1. a byte-order mark (unambiguous; browsers let it override the header too, see the
   WHATWG "decode" algorithm, so a BOM beats a wrong header),
2. the HTTP ``Content-Type`` charset,
3. the document's own declaration (``<meta charset>``, ``<meta http-equiv>``,
   ``<?xml encoding=...?>``) in the first bytes,
4. strict UTF-8 (valid UTF-8 with non-ASCII bytes is practically never anything else),
5. charset_normalizer's best guess,
6. cp1252, then UTF-8 with replacement characters (only when nothing decodes cleanly).

Every declared charset is *tried strictly*: a header that says utf-8 over cp1252 bytes
fails to decode and we move on, so the output has no U+FFFD when some candidate fits.
"""

from __future__ import annotations

import codecs
import re

# Labels that browsers map to a superset codec (WHATWG Encoding Standard, "labels").
# Pages labelled iso-8859-1 routinely contain cp1252 curly quotes; gb2312 pages contain
# GBK/GB18030 characters.
_SUPERSETS = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

# Codecs where any byte string decodes "successfully": a strict decode proves nothing,
# so valid non-ASCII UTF-8 is preferred over them (see _looks_utf8).
_SINGLE_BYTE_PREFIXES = ("cp125", "cp874", "iso8859", "latin", "koi8", "mac")

# Latin-script single-byte codecs (Python names) that detection confuses with cp1252.
_LATIN_SINGLE_BYTE = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "cp437", "cp775", "cp850", "cp852", "cp857", "cp858", "cp860",
     "cp861", "cp863", "cp865", "mac-roman", "mac-latin2", "mac_roman", "mac_latin2", "mac-iceland",
     "mac-turkish", "hp-roman8", "latin-1"}
    | {f"iso8859-{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)}
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# The HTML spec prescans the first 1024 bytes; real pages put <meta charset> after
# long <script>/<style> blocks, so look a bit further (same choice as trafilatura).
_PRESCAN_BYTES = 8192

# A UTF-8 sequence of two to four bytes (a lead byte and its continuation bytes, overlong
# and surrogate forms excluded): a run that single-byte text almost never contains.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                             rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                             rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_CHARSET_IN_CT = re.compile(r"charset\s*=\s*[\"']?([\w.:\-]+)", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:\-]+)[\"']", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:\-]+)", re.I)


def normalize_encoding(label: str | None) -> str | None:
    """Python codec name for an HTTP/HTML charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _CHARSET_IN_CT.search(content_type)
    return m.group(1) if m else None


def declared_encoding(data: bytes) -> str | None:
    """Charset label from an XML declaration or an HTML <meta> in the first bytes."""
    head = data[:_PRESCAN_BYTES]
    m = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return m.group(1).decode("ascii", "ignore") if m else None


def _try(data: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_single_byte(encoding: str) -> bool:
    return encoding.replace("_", "").startswith(_SINGLE_BYTE_PREFIXES)


def _looks_utf8(data: bytes) -> str | None:
    """Decoded text when data is valid UTF-8 containing non-ASCII bytes."""
    if data.isascii():
        return None
    return _try(data, "utf-8")


# Share of control bytes in a file's first 8 KB above which it is binary, not text.
BINARY_CONTROL_SHARE = 0.05


def looks_binary(data: bytes) -> bool:
    """Bytes that are no text in any encoding: a NUL or many control bytes in the first
    8 KB (a PDF, an image, a zip served as a page). UTF-16 and UTF-32 text, whose NULs are
    half its bytes, is recognised by its byte-order mark first."""
    if data.startswith(tuple(bom for bom, enc in _BOMS if enc != "utf-8-sig")):
        return False
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return bool(head) and controls / len(head) > BINARY_CONTROL_SHARE


def decode_bytes(data: bytes, http_content_type: str | None = None) -> tuple[str, str]:
    """Decode web content; return (text, python codec name actually used)."""
    if not data:
        return "", normalize_encoding(charset_from_content_type(http_content_type)) or "utf-8"

    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = _try(data, enc)
            if text is not None:
                return text.lstrip("\ufeff"), enc

    for label in (charset_from_content_type(http_content_type), declared_encoding(data)):
        enc = normalize_encoding(label)
        if enc and enc.startswith(("utf-16", "utf-32")):
            # A utf-16 label read through ASCII-compatible bytes is a lie (no BOM was
            # found above); HTML says treat it as utf-8.
            enc = "utf-8"
        if not enc:
            continue
        if _is_single_byte(enc):
            utf8 = _looks_utf8(data)
            if utf8 is not None:
                return utf8, "utf-8"
        text = _try(data, enc)
        if text is not None:
            return text, enc

    text = _try(data, "utf-8")
    if text is not None:
        return text, "utf-8"

    guess = _charset_normalizer_guess(data)
    if (guess is None or _is_single_byte(guess)) and _mostly_utf8(data):
        # UTF-8 with a few bad bytes (a damaged or spliced file): a single-byte reading
        # would garble its valid letters too ("café" as "cafГ©"), so the bad bytes become
        # U+FFFD and the rest keeps its letters.
        return data.decode("utf-8", errors="replace"), "utf-8"
    if guess and guess in _LATIN_SINGLE_BYTE:
        # Telling cp1250 from cp1252 from cp1257 needs more text than a page gives;
        # charset_normalizer picks among them almost at random on short samples.
        # windows-1252 is the WHATWG default for undeclared Latin-script pages.
        text = _try(data, "cp1252")
        if text is not None:
            return text, "cp1252"
    if guess:
        text = _try(data, guess)
        if text is not None:
            return text, guess

    text = _try(data, "cp1252")
    if text is not None:
        return text, "cp1252"
    return data.decode("utf-8", errors="replace"), "utf-8"


def _mostly_utf8(data: bytes) -> bool:
    """Most non-ASCII bytes form valid UTF-8 sequences. Single-byte text forms one only by
    accident ("Ã©" is already mojibake), so its share stays near zero."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    return high > 0 and sum(len(m) for m in _UTF8_MULTIBYTE.findall(data)) * 2 >= high


_HIGH_BYTES = bytes(range(0x80, 0x100))


def _charset_normalizer_guess(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - listed in pyproject
        return None
    best = from_bytes(data[:200_000]).best()
    if best is None or not best.encoding:
        return None
    return normalize_encoding(best.encoding)
