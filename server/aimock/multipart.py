"""multipart/form-data in, bounded: the uploads of the audio, image and file endpoints.

`read_form` reads a request's body to the end under the server's body limit (413 past it, as
`wire.read_body`) and `parse_form` splits it into its text fields and its files. Every way a
body can be wrong (another content type, no boundary, a missing closing delimiter, a part
without a name, too many parts, a text field too long or not UTF-8) raises `ProtocolError`
with a 400, which the caller renders in its own envelope: never anything else, whatever the
bytes (`tests/server/test_multipart.py` fuzzes it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from aimock.surface import bad_request
from aimock.wire import read_body

FORM_TYPE = "multipart/form-data"
# More parts than any real upload has (a file and a dozen fields, a list field's values).
MAX_PARTS = 256
# A text field's longest value (a prompt, a JSON-encoded option): files have no cap of their
# own beyond the body's.
MAX_FIELD_BYTES = 1024 * 1024
# A part's header block (Content-Disposition, Content-Type).
MAX_PART_HEAD_BYTES = 16 * 1024
# RFC 2046: a boundary is 1 to 70 characters.
MAX_BOUNDARY = 70


@dataclass(frozen=True)
class Upload:
    """One file part: its field name, the file's name as sent, its content type, its bytes."""

    name: str
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> dict[str, Any]:
        """The file as the journal shows it: never its bytes."""
        return {
            "filename": self.filename,
            "contentType": self.content_type,
            "bytes": len(self.data),
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Form:
    """A parsed multipart/form-data body, its parts in the order sent."""

    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[Upload, ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of the text field `name`."""
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def getall(self, name: str) -> list[str]:
        """Every value of the text field `name` (`timestamp_granularities[]` repeats)."""
        return [value for key, value in self.fields if key == name]

    def file(self, name: str) -> Upload | None:
        for upload in self.files:
            if upload.name == name:
                return upload
        return None

    def describe(self) -> dict[str, Any]:
        """The form as the journal keeps it: text fields as strings (a repeated one as a
        list), files by name, type, size and hash."""
        out: dict[str, Any] = {}
        for key, value in self.fields:
            if key in out:
                prior = out[key]
                out[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
            else:
                out[key] = value
        for upload in self.files:
            out[upload.name] = upload.describe()
        return out


async def read_form(request: web.Request, limit: int) -> Form:
    """A request's multipart body, read to the end under `limit` bytes and parsed."""
    content_type = request.headers.get("Content-Type", "")
    boundary_of(content_type)  # refuse a wrong type before reading a byte
    return parse_form(await read_body(request, limit), content_type)


def boundary_of(content_type: str) -> bytes:
    """The boundary a multipart/form-data Content-Type declares, or a 400."""
    media, _, rest = content_type.partition(";")
    if media.strip().lower() != FORM_TYPE:
        shown = media.strip() or "none"
        raise bad_request(
            f"Invalid Content-Type header ({shown}); expected {FORM_TYPE} with a boundary",
            code="invalid_content_type",
        )
    boundary = _params(rest).get("boundary", "")
    if not 1 <= len(boundary) <= MAX_BOUNDARY or not boundary.isascii():
        raise bad_request(
            f"The {FORM_TYPE} Content-Type has no valid boundary", code="invalid_content_type"
        )
    return boundary.encode("ascii")


def parse_form(raw: bytes, content_type: str) -> Form:
    """`raw` split at the boundary of `content_type`: text fields and files."""
    boundary = boundary_of(content_type)
    delimiter = b"\r\n--" + boundary
    # The first delimiter may open the body (no CRLF before it); anything before it is a
    # preamble, ignored as RFC 2046 says.
    pieces = (b"\r\n" + raw).split(delimiter)
    if len(pieces) < 2:
        raise _malformed("no part delimiter found")
    if len(pieces) - 2 > MAX_PARTS:
        raise _malformed(f"more than {MAX_PARTS} parts")
    fields: list[tuple[str, str]] = []
    files: list[Upload] = []
    closed = False
    for piece in pieces[1:]:
        if piece.startswith(b"--"):  # the close delimiter; the rest is an epilogue
            closed = True
            break
        name, filename, part_type, data = _part(piece)
        if filename is None:
            if len(data) > MAX_FIELD_BYTES:
                raise _malformed(f"the field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
            try:
                fields.append((name, data.decode("utf-8")))
            except UnicodeDecodeError:
                raise _malformed(f"the field {name!r} is not UTF-8") from None
        else:
            files.append(Upload(name, filename, part_type or "application/octet-stream", data))
    if not closed:
        raise _malformed("the body ends before its closing boundary")
    return Form(tuple(fields), tuple(files))


def _part(piece: bytes) -> tuple[str, str | None, str | None, bytes]:
    """One part after its delimiter: (name, filename or None, content type, bytes)."""
    line_end = piece.find(b"\r\n")
    if line_end < 0 or piece[:line_end].strip(b" \t"):  # only transport padding may follow
        raise _malformed("a part delimiter is not followed by a line break")
    head_end = piece.find(b"\r\n\r\n", line_end)
    if head_end < 0:
        # A part with no headers at all has its blank line right after the delimiter.
        raise _malformed("a part has no header block")
    if head_end - line_end > MAX_PART_HEAD_BYTES:
        raise _malformed("a part's headers are too long")
    head = piece[line_end + 2 : head_end]
    data = piece[head_end + 4 :]
    disposition: str | None = None
    part_type: str | None = None
    for line in head.split(b"\r\n"):
        key, colon, value = line.partition(b":")
        if not colon:
            raise _malformed("a part header has no colon")
        try:
            text = value.decode("utf-8").strip()
        except UnicodeDecodeError:
            text = value.decode("latin-1").strip()
        lowered = key.strip().lower()
        if lowered == b"content-disposition":
            disposition = text
        elif lowered == b"content-type":
            part_type = text.partition(";")[0].strip().lower() or None
    if disposition is None:
        raise _malformed("a part has no Content-Disposition header")
    kind, _, rest = disposition.partition(";")
    if kind.strip().lower() != "form-data":
        raise _malformed("a part's Content-Disposition is not form-data")
    params = _params(rest)
    name = params.get("name")
    if not name:
        raise _malformed("a part has no name")
    filename = params.get("filename*") or params.get("filename")
    return name, filename, part_type, data


def _params(text: str) -> dict[str, str]:
    """`; key=value; key="quoted \\"value\\""` into a dict (keys lower-cased). A `key*`
    value in RFC 5987's `charset''percent-encoded` form is decoded."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t;":
            i += 1
        start = i
        while i < n and text[i] not in "=;":
            i += 1
        key = text[start:i].strip().lower()
        value = ""
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                i += 1
                chars: list[str] = []
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n:
                        i += 1
                    chars.append(text[i])
                    i += 1
                i += 1  # the closing quote
                value = "".join(chars)
            else:
                start = i
                while i < n and text[i] != ";":
                    i += 1
                value = text[start:i].strip()
        if key.endswith("*") and "''" in value:
            charset, _, encoded = value.partition("''")
            try:
                value = unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                value = unquote(encoded, encoding="latin-1")
        if key and key not in out:
            out[key] = value
    return out


def _malformed(reason: str) -> Exception:
    return bad_request(f"Malformed multipart/form-data body: {reason}", code="invalid_multipart")
