"""The multipart/form-data reader: what it reads, what it refuses, and that no body makes it
raise anything but `ProtocolError`."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimock.multipart import MAX_FIELD_BYTES, MAX_PARTS, boundary_of, parse_form
from aimock.surface import ProtocolError


def encoded(files: dict[str, Any], data: dict[str, Any]) -> tuple[bytes, str]:
    """A body and its Content-Type as httpx (the openai SDK's transport) writes them."""
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.read(), request.headers["Content-Type"]


def test_reads_fields_and_files_as_httpx_sends_them() -> None:
    audio = bytes(range(256)) * 10 + b"\r\n--not-a-boundary\r\n"
    raw, content_type = encoded(
        {"file": ("speech é.wav", audio, "audio/wav")},
        {"model": "whisper-1", "timestamp_granularities[]": ["word", "segment"], "prompt": "ça"},
    )
    form = parse_form(raw, content_type)
    assert form.get("model") == "whisper-1"
    assert form.get("prompt") == "ça"
    assert form.getall("timestamp_granularities[]") == ["word", "segment"]
    upload = form.file("file")
    assert upload is not None
    assert upload.data == audio
    assert upload.content_type == "audio/wav"
    assert upload.filename == "speech é.wav"
    assert upload.sha256 == hashlib.sha256(audio).hexdigest()
    described = form.describe()
    assert described["file"]["bytes"] == len(audio)
    assert described["timestamp_granularities[]"] == ["word", "segment"]


def test_preamble_epilogue_and_quoted_parameters() -> None:
    raw = (
        b"preamble\r\n--b\r\n"
        b'Content-Disposition: form-data; name="a"; filename="x\\"y.txt"\r\n\r\n'
        b"hello\r\n--b\r\n"
        b"Content-Disposition: form-data; name=plain\r\n\r\nvalue\r\n--b--\r\nepilogue"
    )
    form = parse_form(raw, 'multipart/form-data; boundary="b"')
    upload = form.file("a")
    assert upload is not None and upload.filename == 'x"y.txt' and upload.data == b"hello"
    assert upload.content_type == "application/octet-stream"
    assert form.get("plain") == "value"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "", "multipart/form-data", "multipart/form-data; boundary=", "x" * 10],
)
def test_refuses_a_wrong_content_type_or_boundary(content_type: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        boundary_of(content_type)
    assert caught.value.info.status == 400


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nno end",
        b"--b\r\n\r\nno disposition\r\n--b--",
        b"--b\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b--",
        b"--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
        b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\xfe\r\n--b--",
        b"--bjunk\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
        b"--b\r\nno colon here\r\n\r\nx\r\n--b--",
    ],
)
def test_refuses_a_malformed_body(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_form(raw, "multipart/form-data; boundary=b")
    assert caught.value.info.status == 400


def test_bounds_parts_and_field_sizes() -> None:
    part = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
    with pytest.raises(ProtocolError):
        parse_form(part * (MAX_PARTS + 1) + b"--b--", "multipart/form-data; boundary=b")
    assert (
        len(parse_form(part * MAX_PARTS + b"--b--", "multipart/form-data; boundary=b").fields)
        == MAX_PARTS
    )
    big = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n" + b"x" * (MAX_FIELD_BYTES + 1)
    with pytest.raises(ProtocolError):
        parse_form(big + b"\r\n--b--", "multipart/form-data; boundary=b")


PIECES = st.sampled_from(
    [
        b"--b",
        b"--b--",
        b"\r\n",
        b"\r\n\r\n",
        b"Content-Disposition: form-data; name=",
        b'"f"',
        b"; filename=",
        b"filename*=utf-8''%C3%A9%ZZ",
        b"Content-Type: audio/wav",
        b":",
        b";",
        b"\xff",
        b"\\",
        b"x",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.binary(max_size=300), st.lists(PIECES, max_size=40).map(b"".join)),
    st.sampled_from(
        ["multipart/form-data; boundary=b", 'multipart/form-data; boundary="b"', "text/plain"]
    ),
)
def test_fuzz_only_protocol_errors(raw: bytes, content_type: str) -> None:
    try:
        form = parse_form(raw, content_type)
    except ProtocolError as exc:
        assert exc.info.status == 400
        return
    form.describe()


async def test_read_form_on_a_request(aiohttp_client: Any) -> None:
    """`read_form` (for plain routes and services): the body under the limit, parsed; a wrong
    type refused before the body is read; 413 past the limit."""
    from aiohttp import web

    from aimock.multipart import read_form

    async def handler(request: web.Request) -> web.Response:
        try:
            form = await read_form(request, 1000)
        except ProtocolError as exc:
            return web.json_response({"status": exc.info.status}, status=exc.info.status)
        upload = form.file("file")
        assert upload is not None
        return web.json_response({"model": form.get("model"), "bytes": len(upload.data)})

    app = web.Application()
    app.router.add_post("/", handler)
    client = await aiohttp_client(app)
    raw, content_type = encoded({"file": ("a.wav", b"x" * 100)}, {"model": "m"})
    answer = await client.post("/", data=raw, headers={"Content-Type": content_type})
    assert await answer.json() == {"model": "m", "bytes": 100}
    answer = await client.post("/", json={"model": "m"})
    assert answer.status == 400
    raw, content_type = encoded({"file": ("a.wav", b"x" * 2000)}, {})
    answer = await client.post("/", data=raw, headers={"Content-Type": content_type})
    assert answer.status == 413
