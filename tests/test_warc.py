"""records_from_warc on small WARC files written here with warcio."""

from datetime import datetime, timezone
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsetl.records import RawDoc, Reject
from newsetl.sources.warc import records_from_warc

PAGE = "<html><head><meta charset='windows-1252'></head><body><p>Café “news” page</p></body></html>"


def _response(writer, url, body: bytes, ctype="text/html", status="200 OK", date="2024-05-06T07:08:09Z"):
    headers = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                               protocol="HTTP/1.1")
    rec = writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=headers,
                                    warc_headers_dict={"WARC-Date": date})
    writer.write_record(rec)


def write_warc(path, gz=True):
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=gz)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "newsetl-tests"}))
        _response(w, "https://news.example/a?utm_source=x", PAGE.encode("cp1252"))
        req = w.create_warc_record("https://news.example/a", "request", payload=BytesIO(b"GET /a HTTP/1.1\r\n\r\n"))
        w.write_record(req)
        _response(w, "https://news.example/logo.png", b"\x89PNG....", ctype="image/png")
        _response(w, "https://news.example/old", b"", ctype="text/html", status="301 Moved Permanently")
        _response(w, "https://other.example/b", "<html><body><p>Zweite Seite: Grüße</p></body></html>".encode(),
                  ctype="text/html; charset=utf-8", date="2024-05-06T08:00:00Z")
    return path


@pytest.mark.parametrize("gz,name", [(True, "t.warc.gz"), (False, "t.warc")])
def test_html_responses_become_rawdocs(tmp_path, gz, name):
    path = write_warc(tmp_path / name, gz=gz)
    out = list(records_from_warc(path))
    assert all(isinstance(d, RawDoc) for d in out), out
    assert [d.url for d in out] == ["https://news.example/a?utm_source=x", "https://other.example/b"]
    a, b = out
    assert a.source == "news.example" and b.source == "other.example"
    assert "Café “news” page" in a.html
    assert "Grüße" in b.html
    assert a.fetched_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert a.canonical_url == "https://news.example/a"
    assert a.input_ref.startswith(str(path) + ":") and a.input_ref != b.input_ref
    assert a.extra["warc_record_id"].startswith("<urn:uuid:")
    assert list(records_from_warc(path, source="cc-news"))[0].source == "cc-news"


@pytest.mark.parametrize("gz,name", [(True, "t.warc.gz"), (False, "t.warc")])
@pytest.mark.parametrize("frac", [0.02, 0.05, 0.3, 0.5, 0.8, 0.95, 0.99])
def test_truncated_file_yields_reject_for_the_rest(tmp_path, gz, name, frac):
    data = write_warc(tmp_path / name, gz=gz).read_bytes()
    cut = tmp_path / ("cut-" + name)
    cut.write_bytes(data[: int(len(data) * frac)])
    out = list(records_from_warc(cut))
    docs = [d for d in out if isinstance(d, RawDoc)]
    rejects = [d for d in out if isinstance(d, Reject)]
    assert len(docs) <= 1  # the second page is in the last record, which is cut
    assert len(rejects) == 1 and "truncated" in rejects[0].reason
    assert out[-1] is rejects[0]


def test_corrupt_and_missing_files(tmp_path):
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"this is not a warc file at all\r\n\r\n" * 10)
    out = list(records_from_warc(junk))
    assert len(out) == 1 and isinstance(out[0], Reject)
    missing = list(records_from_warc(tmp_path / "none.warc.gz"))
    assert len(missing) == 1 and isinstance(missing[0], Reject) and "cannot open" in missing[0].reason


def test_warc_without_any_html_page_is_a_reject_saying_what_it_held(tmp_path):
    """A crawl of images and errors must not vanish without a trace, as an empty file does not."""
    path = tmp_path / "images.warc.gz"
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "newsetl-tests"}))
        for i in range(3):
            _response(w, f"https://news.example/{i}.png", b"\x89PNG....", ctype="image/png")
        _response(w, "https://news.example/gone", b"<html>gone</html>", status="404 Not Found")
        w.write_record(w.create_warc_record("https://news.example/a", "request", payload=BytesIO(b"GET /a HTTP/1.1\r\n\r\n")))
    out = list(records_from_warc(path))
    assert len(out) == 1 and isinstance(out[0], Reject), out
    assert out[0].reason == ("no HTML page with status 200 in 6 records (3 response image/png, "
                             "1 warcinfo record, 1 response status 404, 1 request record)")
    # one page among them is enough: the others stay skipped without a word
    assert not [d for d in records_from_warc(write_warc(tmp_path / "t.warc.gz")) if isinstance(d, Reject)]


def test_oversized_record(tmp_path):
    path = write_warc(tmp_path / "t.warc.gz")
    out = list(records_from_warc(path, max_record_bytes=50))
    assert all(isinstance(d, Reject) and "larger than 50 bytes" in d.reason for d in out)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=10_000), st.binary(min_size=1, max_size=8), st.booleans())
def test_damaged_warc_never_raises(tmp_path, pos, junk, gz):
    data = bytearray(write_warc(tmp_path / ("f.warc.gz" if gz else "f.warc"), gz=gz).read_bytes())
    pos %= len(data)
    data[pos:pos + len(junk)] = junk
    bad = tmp_path / ("bad.warc.gz" if gz else "bad.warc")
    bad.write_bytes(bytes(data))
    out = list(records_from_warc(bad))
    assert all(isinstance(d, (RawDoc, Reject)) for d in out)
