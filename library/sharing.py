"""Share links: the owner's pages (make a link to a video, the Shared list, revoke) and the
public page a link opens (player, download of the file the owner's plan allows, Content
Credentials, the prompt only when the owner chose to show it, Open Graph tags).

The public views answer 404 for anything but a live token and never name other videos; they
are rate-limited per client address.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.plans import account_get_for_user
from core.http import AuthedRequest
from core.serving import serve_file
from delivery.finishing import DeliveryPending, served_file
from generations import selectors as generation_selectors
from library import ratelimit, selectors, services
from library.forms import ReportForm, ShareForm
from policy import review


@login_required
@require_GET
def shared(request: AuthedRequest) -> HttpResponse:
    """Every link the creator made, live or not, with its address and a revoke button."""
    links = [
        (
            link,
            request.build_absolute_uri(reverse("share_public", args=[services.share_token(link)])),
        )
        for link in selectors.share_list_for_user(request.user)[:200]
    ]
    return render(request, "library/shared.html", {"links": links})


@login_required
@require_http_methods(["GET", "POST"])
def share_new(request: AuthedRequest, video_id: str) -> HttpResponse:
    video = generation_selectors.video_get_for_user(request.user, video_id)
    form = ShareForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            services.share_create(
                owner=request.user,
                video=video,
                show_prompt=form.cleaned_data["show_prompt"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Link made: copy it from the list below.")
            return redirect("shared")
    return render(request, "library/share_new.html", {"video": video, "form": form})


@login_required
@require_POST
def share_revoke(request: AuthedRequest, link_id: str) -> HttpResponse:
    link = selectors.share_get_for_user(request.user, link_id)
    if services.share_revoke(link=link, by=request.user):
        messages.success(request, "Link revoked: it answers “not found” from now on.")
    return redirect("shared")


def _too_many() -> HttpResponse:
    response = HttpResponse("Too many requests. Try again in a minute.", status=429)
    response["Retry-After"] = "60"
    return response


def _not_ready() -> HttpResponse:
    response = HttpResponse("This video is still being prepared.", status=503)
    response["Retry-After"] = "30"
    return response


@require_GET
def share_public(request: HttpRequest, token: str) -> HttpResponse:
    if not ratelimit.allow(request, "page"):
        return _too_many()
    link = services.share_get_live(token)
    video = link.video
    watermark_free = account_get_for_user(link.owner).plan.watermark_free
    credentials = video.credentials.get("master" if watermark_free else "delivery")
    services.share_viewed(link=link)
    context = {
        "link": link,
        "token": token,
        "video": video,
        "prompt": video.generation.prompt if link.show_prompt else "",
        "credentials": credentials,
        "watermark_free": watermark_free,
        "page_url": request.build_absolute_uri(),
        "poster_url": request.build_absolute_uri(reverse("share_poster", args=[token])),
        "file_url": request.build_absolute_uri(reverse("share_file", args=[token])),
    }
    response = render(request, "library/share_public.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def share_file(request: HttpRequest, token: str) -> HttpResponseBase:
    """The file the owner's plan allows (delivery's rule), never the master otherwise."""
    if not ratelimit.allow(request, "file"):
        return _too_many()
    link = services.share_get_live(token)
    try:
        field_file = served_file(link.video)
    except DeliveryPending:
        return _not_ready()
    download = "studio-shared-video.mp4" if request.GET.get("download") else None
    return serve_file(request, field_file, content_type="video/mp4", download_name=download)


@require_GET
def share_poster(request: HttpRequest, token: str) -> HttpResponseBase:
    if not ratelimit.allow(request, "file"):
        return _too_many()
    link = services.share_get_live(token)
    try:
        served_file(link.video)  # no file for the public, no poster
    except DeliveryPending:
        return _not_ready()
    return serve_file(request, link.video.poster, content_type="image/jpeg")


@require_http_methods(["GET", "POST"])
def share_report(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone who has the link may report the video to the operators (rate-limited per
    address and per person)."""
    if not ratelimit.allow(request, "page"):
        return _too_many()
    link = services.share_get_live(token)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        try:
            review.report_create(
                video=link.video,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                reporter_id=user.pk if user.is_authenticated else None,
                ip=ratelimit.client_address(request),
            )
        except review.ReportRefused as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "library/report.html", {"done": True})
    response = render(request, "library/report.html", {"form": form, "token": token})
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
