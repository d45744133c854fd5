"""decode_bytes: header charset, BOM, <meta>/<?xml?> declarations, detection fallback."""

import codecs

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from newsetl.sources.decode import decode_bytes, normalize_encoding

SAMPLE = "Café – “quoted” naïve façade, 10 €"


def test_header_charset_wins_when_it_decodes():
    text, enc = decode_bytes(SAMPLE.encode("utf-8"), "text/html; charset=UTF-8")
    assert text == SAMPLE and enc == "utf-8"


def test_wrong_header_charset_falls_back_without_replacement_chars():
    data = SAMPLE.encode("cp1252")
    text, enc = decode_bytes(data, "text/html; charset=utf-8")
    assert "\ufffd" not in text
    assert text == SAMPLE
    assert enc == "cp1252"


def test_latin1_label_means_cp1252():
    data = "“smart quotes”".encode("cp1252")
    text, enc = decode_bytes(data, "text/html; charset=ISO-8859-1")
    assert text == "“smart quotes”" and enc == "cp1252"


def test_single_byte_label_over_utf8_bytes_prefers_utf8():
    text, enc = decode_bytes(SAMPLE.encode("utf-8"), "text/html; charset=iso-8859-1")
    assert text == SAMPLE and enc == "utf-8"


@pytest.mark.parametrize(
    "bom,codec",
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_bom_beats_a_wrong_header(bom, codec):
    data = bom + SAMPLE.encode(codec)
    text, _ = decode_bytes(data, "text/html; charset=iso-8859-1")
    assert text == SAMPLE


def test_meta_charset_and_http_equiv():
    body = "<html><head><meta charset='windows-1251'></head><body>Привет мир</body></html>"
    text, enc = decode_bytes(body.encode("cp1251"))
    assert "Привет мир" in text and enc == "cp1251"
    body2 = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
             "</head><body>Привет</body></html>")
    text, enc = decode_bytes(body2.encode("koi8-r"))
    assert "Привет" in text and enc == "koi8-r"


def test_xml_declaration_gb2312_uses_gb18030_superset():
    doc = '<?xml version="1.0" encoding="gb2312"?><rss><title>建国35周年纪念，华表</title></rss>'
    text, enc = decode_bytes(doc.encode("gb18030"))
    assert "建国35周年纪念，华表" in text and enc == "gb18030"


def test_no_declaration_detects():
    text, enc = decode_bytes(("Ceci est un texte en français, déjà écrit à la main. " * 20).encode("cp1252"))
    assert "\ufffd" not in text and "français" in text


def test_empty_and_unknown_label():
    assert decode_bytes(b"") == ("", "utf-8")
    assert decode_bytes(b"plain", "text/html; charset=x-no-such-charset") == ("plain", "utf-8")
    assert normalize_encoding("nonsense") is None
    assert normalize_encoding("GB2312") == "gb18030"


@hsettings(max_examples=200, deadline=None)
@given(st.text())
def test_utf8_round_trips(s):
    text, _ = decode_bytes(s.encode("utf-8"))
    assert text == s.lstrip("\ufeff") or text == s


@hsettings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, "text/html", "text/html; charset=utf-8",
                                                 "text/html; charset=shift_jis", "text/html; charset=bogus"]))
def test_never_raises(data, ctype):
    text, enc = decode_bytes(data, ctype)
    assert isinstance(text, str) and codecs.lookup(enc)
