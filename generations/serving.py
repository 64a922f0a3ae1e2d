"""Serving stored media through access-checked views, with HTTP Range so players can seek."""

from __future__ import annotations

import re

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def serve_file(
    request: HttpRequest,
    field_file: FieldFile,
    *,
    content_type: str,
    download_name: str | None = None,
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    """Stream a stored file; answers a single ``Range: bytes=a-b`` with 206."""
    if not field_file:
        raise Http404("No such file.")
    try:
        size = field_file.size
    except FileNotFoundError:
        raise Http404("No such file.") from None
    disposition = {"as_attachment": True, "filename": download_name} if download_name else {}
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match[1] and not match[2]):
        response = FileResponse(field_file.open("rb"), content_type=content_type, **disposition)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=3600"
        return response
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start > end or start >= size:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = field_file.open("rb")
    handle.seek(start)

    def chunks(remaining: int = end - start + 1):  # type: ignore[no-untyped-def]
        try:
            while remaining > 0:
                block = handle.read(min(_CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
        finally:
            handle.close()

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response
