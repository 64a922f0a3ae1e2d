"""Upload size, refused before anything is buffered: an upload handler that reads a
multipart request's declared length first and stores no byte of a file past the limit,
and the helper a view uses to show the refusal as a form error."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

REFUSED = "studio.upload_refused"
# Room in a request for the form's other fields and the multipart boundaries.
FIELDS_ALLOWANCE = 1024 * 1024


def too_large_message() -> str:
    """What the creator reads when a file is over STUDIO_UPLOAD_MAX_BYTES."""
    limit = settings.STUDIO_UPLOAD_MAX_BYTES
    if limit >= 1 << 20:
        mb = limit / (1 << 20)
        size = f"{mb:.0f} MB" if mb >= 10 or mb.is_integer() else f"{mb:.1f} MB"
    else:
        size = f"{max(1, round(limit / 1024))} KB"
    return f"The file is larger than {size}."


class SizeLimitUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: a request whose body is declared larger than
    STUDIO_UPLOAD_MAX_BYTES (plus room for fields), or a file that grows past it, stops the
    upload before the next handlers store a byte of it (not in memory, not in a temporary
    file). The rest of the body is read and dropped, so the browser gets the answer; the
    refusal is noted on the request for ``refuse_oversized``."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 (Django's name)
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.too_large = content_length > settings.STUDIO_UPLOAD_MAX_BYTES + FIELDS_ALLOWANCE

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if getattr(self, "too_large", False):
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.STUDIO_UPLOAD_MAX_BYTES:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        if self.request is not None:
            self.request.META[REFUSED] = too_large_message()
        raise StopUpload(connection_reset=False)


def upload_refusal(request: HttpRequest) -> str:
    """The message for an upload refused as too large in this request, or ""."""
    request.FILES  # noqa: B018 (parses the body, which runs the handler)
    return str(request.META.get(REFUSED, ""))


def refuse_oversized(request: HttpRequest, form: forms.Form, field: str = "file") -> None:
    """Put the too-large message on ``form``'s ``field`` (instead of "required": the file
    was never kept) when this request's upload was refused."""
    message = upload_refusal(request)
    if not message:
        return
    form.is_valid()
    form.errors.pop(field, None)
    form.add_error(field, message)
