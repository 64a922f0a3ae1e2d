"""Delivery's views: a video's file and poster (the file this viewer may have, with HTTP
Range), the staff poster for admin, and Verify."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from core.http import AuthedRequest
from core.serving import serve_file
from core.uploads import refuse_oversized
from delivery import finishing, services
from delivery.forms import VerifyForm
from generations import selectors
from generations.models import Video


@login_required
@require_GET
def video_file(request: AuthedRequest, video_id: str) -> HttpResponseBase:
    video = selectors.video_get_for_user(request.user, video_id)
    try:
        served = finishing.served_file(video)
    except finishing.DeliveryPending:
        return _not_ready()
    download = None
    if request.GET.get("download"):
        name = slugify(video.generation.prompt[:60])[:40].strip("-") or "video"
        download = f"studio-{name}-{video.index + 1}.mp4"
    return serve_file(request, served, content_type="video/mp4", download_name=download)


@login_required
@require_GET
def video_poster(request: AuthedRequest, video_id: str) -> HttpResponseBase:
    video = selectors.video_get_for_user(request.user, video_id)
    try:
        # The poster is a frame of the served file: no file for this viewer, no poster.
        finishing.served_file(video)
    except finishing.DeliveryPending:
        return _not_ready()
    return serve_file(request, video.poster, content_type="image/jpeg")


def _not_ready() -> HttpResponse:
    response = HttpResponse(
        "This video's file is still being made. Try again in a minute.",
        status=503,
        content_type="text/plain",
    )
    response["Retry-After"] = "30"
    return response


@staff_member_required
@require_GET
def admin_video_poster(request: HttpRequest, video_id: str) -> HttpResponseBase:
    video = get_object_or_404(Video, pk=video_id)
    return serve_file(request, video.poster, content_type="image/jpeg")


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: AuthedRequest) -> HttpResponse:
    """Check any image or video: its Content Credentials and whether our invisible
    watermark names a Video of this studio (which one only for its owner)."""
    form = VerifyForm(request.POST, request.FILES) if request.method == "POST" else VerifyForm()
    if request.method == "POST":
        refuse_oversized(request, form)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.file_verify(upload=form.cleaned_data["file"], viewer=request.user)
        except ValidationError as exc:
            form.add_error("file", exc.messages)
    template = "delivery/verify.html"
    if request.htmx:
        template += "#verify-result"
    return render(request, template, {"form": form, "report": report})
