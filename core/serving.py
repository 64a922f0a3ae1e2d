"""Serving stored media through access-checked views, with HTTP Range so players can seek:
streamed from a local folder or from object storage, or handed to the bucket as a
short-lived presigned redirect (STUDIO_S3_SERVE=redirect); and media made on request (bytes
in memory, such as a still made from a video) served the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

from core.objectstore import StudioS3Storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024
# A byte position with more digits than this is past the end of any file we store; reading
# it as a number would cost time (and Python refuses past 4,300 digits).
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    """A Range header's byte position, clamped: a huge number is simply "past the end"."""
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def serve_file(
    request: HttpRequest,
    field_file: FieldFile,
    *,
    content_type: str,
    download_name: str | None = None,
) -> HttpResponseBase:
    """Stream a stored file; answers a single ``Range: bytes=a-b`` with 206."""
    if not field_file:
        raise Http404("No such file.")
    storage = field_file.storage
    bucket = storage if isinstance(storage, StudioS3Storage) else None
    if bucket is not None and settings.STUDIO_S3_SERVE == "redirect":
        # The view has checked who may have which file; the bucket serves the bytes (and
        # the Range requests) for the next few minutes, to this link only.
        link = bucket.presigned_url(
            field_file.name or "", content_type=content_type, download_name=download_name
        )
        redirect = HttpResponseRedirect(link)
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    try:
        size = field_file.size
    except FileNotFoundError:
        raise Http404("No such file.") from None
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if (not match or (not match[1] and not match[2])) and bucket is not None:
        streamed = StreamingHttpResponse(
            bucket.read_range(field_file.name or "", 0, size - 1), content_type=content_type
        )
        if download_name:
            streamed["Content-Disposition"] = f'attachment; filename="{download_name}"'
        return _whole(streamed, size)
    if not match or (not match[1] and not match[2]):
        whole = FileResponse(
            field_file.open("rb"),
            content_type=content_type,
            as_attachment=bool(download_name),
            filename=download_name or "",
        )
        return _whole(whole)
    bounds = _bounds(match, size)
    if bounds is None:
        return _unsatisfiable(size)
    start, end = bounds
    if bucket is not None:
        body = bucket.read_range(field_file.name or "", start, end)
    else:
        body = _local_range(field_file, start, end)
    return _partial(body, start, end, size, content_type)


def serve_bytes(request: HttpRequest, data: bytes, *, content_type: str) -> HttpResponseBase:
    """Stream ``data`` (media made on request) in chunks; answers a single
    ``Range: bytes=a-b`` with 206, exactly as ``serve_file`` does for a stored file."""
    size = len(data)
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match[1] and not match[2]):
        streamed = StreamingHttpResponse(_chunks(data, 0, size - 1), content_type=content_type)
        return _whole(streamed, size)
    bounds = _bounds(match, size)
    if bounds is None:
        return _unsatisfiable(size)
    start, end = bounds
    return _partial(_chunks(data, start, end), start, end, size, content_type)


def _whole(response: HttpResponseBase, size: int | None = None) -> HttpResponseBase:
    """A whole-file answer: its length (where the response cannot know it), and the
    headers that say ranges are welcome and the viewer's browser may keep it an hour."""
    if size is not None:
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _bounds(match: re.Match[str], size: int) -> tuple[int, int] | None:
    """The first and last byte a ``bytes=a-b`` range asks for, or None if it names none
    of the file's ``size`` bytes."""
    if match[1]:
        start = _position(match[1])
        end = min(_position(match[2]), size - 1) if match[2] else size - 1
    else:
        start, end = max(0, size - _position(match[2])), size - 1
    if start > end or start >= size:
        return None
    return start, end


def _unsatisfiable(size: int) -> HttpResponse:
    refused = HttpResponse(status=416)
    refused["Content-Range"] = f"bytes */{size}"
    return refused


def _partial(
    body: Iterator[bytes], start: int, end: int, size: int, content_type: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _chunks(data: bytes, start: int, end: int) -> Iterator[bytes]:
    view = memoryview(data)
    for offset in range(start, end + 1, _CHUNK):
        yield bytes(view[offset : min(offset + _CHUNK, end + 1)])


def _local_range(field_file: FieldFile, start: int, end: int) -> Iterator[bytes]:
    handle = field_file.open("rb")
    handle.seek(start)
    remaining = end - start + 1
    try:
        while remaining > 0:
            block = handle.read(min(_CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        handle.close()
