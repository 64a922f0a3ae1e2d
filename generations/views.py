"""Views: the Create-video dashboard, job cards, gallery, detail pages, uploads and media.

Function views of a few lines; logic lives in services and selectors. A view renders its
page, or for htmx requests the partial the page defines inline.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from generations import finishing, plans, selectors, services
from generations.forms import GenerateForm, SignupForm, UploadForm, VerifyForm
from generations.models import Generation, Video
from generations.providers.registry import UnknownProvider, get_provider
from generations.serving import serve_file


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


def _dashboard_context(request: HttpRequest, form: GenerateForm) -> dict[str, Any]:
    return {
        "form": form,
        "upload_form": UploadForm(),
        "assets": selectors.assets_for_user(request.user)[:24],
        "jobs": selectors.generations_recent(request.user),
        "prompt_limit": settings.STUDIO_PROMPT_MAX_CHARS,
        "providers": form.providers,
    }


def _initial_from(generation: Generation) -> dict[str, Any]:
    return {
        "prompt": generation.prompt,
        "resolution": generation.resolution,
        "aspect_ratio": generation.aspect_ratio,
        "seconds": generation.seconds,
        "variations": generation.variations,
        "priority": generation.priority,
        "provider": f"{generation.provider}:{generation.model}"
        if generation.provider != "offline"
        else generation.provider,
        "seed": generation.seed,
        "prompt_in_credentials": generation.prompt_in_credentials,
        "reference": generation.reference_id,
        "parent": generation.id,
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {}
    if source := request.GET.get("from"):
        initial = _initial_from(selectors.generation_get_for_user(request.user, source))
    form = GenerateForm(initial=initial, user=request.user)
    return render(request, "generations/dashboard.html", _dashboard_context(request, form))


@login_required
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST, user=request.user)
    new_job = None
    if form.is_valid():
        data = form.cleaned_data
        parent = None
        if data["parent"]:
            parent = selectors.generation_get_for_user(request.user, data["parent"])
        provider, _, model = data["provider"].partition(":")
        try:
            new_job = services.generation_create(
                owner=request.user,
                prompt=data["prompt"],
                resolution=data["resolution"],
                aspect_ratio=data["aspect_ratio"],
                seconds=data["seconds"],
                variations=data["variations"],
                priority=data["priority"],
                provider=provider,
                model=model,
                seed=data["seed"],
                prompt_in_credentials=data["prompt_in_credentials"],
                reference=data["reference"],
                parent=parent,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if not request.htmx:
                return redirect("dashboard")
            keep = {
                k: data[k]
                for k in ("resolution", "aspect_ratio", "seconds", "variations", "provider")
            }
            form = GenerateForm(initial=keep, user=request.user)
    context = {**_dashboard_context(request, form), "new_job": new_job}
    if request.htmx:
        return render(request, "generations/dashboard.html#create-panel", context)
    return render(request, "generations/dashboard.html", context)


@login_required
@require_GET
def generation_card(request: HttpRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_get_for_user(request.user, generation_id)
    return render(request, "generations/dashboard.html#job-card", {"job": generation})


@login_required
@require_POST
def generation_cancel(request: HttpRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_get_for_user(request.user, generation_id)
    services.generation_cancel(generation=generation, by=request.user)
    generation.refresh_from_db()
    if request.htmx:
        return render(request, "generations/dashboard.html#job-card", {"job": generation})
    return redirect("dashboard")


@login_required
@require_GET
def generation_detail(request: HttpRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_get_for_user(request.user, generation_id)
    return _detail(request, generation, video=None)


@login_required
@require_GET
def video_detail(request: HttpRequest, video_id: str) -> HttpResponse:
    video = selectors.video_get_for_user(request.user, video_id)
    return _detail(request, video.generation, video=video)


def _detail(request: HttpRequest, generation: Generation, video: Any) -> HttpResponse:
    videos = list(generation.videos.all())
    if video is None and videos:
        video = videos[0]
    derive = None
    try:
        adapter = get_provider(generation.provider)
        provider_name = adapter.name
        if video is not None and generation.provider_job_id:
            caps = adapter.capabilities(generation.model)
            derive = caps if caps.remix or caps.extend else None
    except UnknownProvider:
        provider_name = generation.provider
    watermark_free = plans.account_for(request.user).plan.watermark_free
    credentials = None
    if video is not None:
        served = "master" if watermark_free else "delivery"
        credentials = video.credentials.get(served)
    context = {
        "generation": generation,
        "video": video,
        "videos": videos,
        "events": generation.events.all(),
        "provider_name": provider_name,
        "watermark_free": watermark_free,
        "credentials": credentials,
        "derive": derive,
    }
    return render(request, "generations/detail.html", context)


@login_required
@require_POST
def video_derive(request: HttpRequest, video_id: str) -> HttpResponse:
    """Remix or extend a video on the provider that made it (when it offers that)."""
    video = selectors.video_get_for_user(request.user, video_id)
    try:
        generation = services.generation_derive(
            video=video,
            operation=request.POST.get("operation", ""),
            prompt=request.POST.get("prompt", ""),
            seconds=int(request.POST.get("seconds") or 0) or None,
        )
    except (ValidationError, ValueError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else "Pick a length."
        messages.error(request, text)
        return redirect(video.get_absolute_url())
    if request.htmx:
        return HttpResponseClientRedirect(generation.get_absolute_url())
    return redirect(generation.get_absolute_url())


@login_required
@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    videos = selectors.videos_for_user(request.user)
    watermark = request.GET.get("watermark", "")
    if watermark in Video.Watermark.values:
        videos = videos.filter(watermark=watermark)
    else:
        watermark = ""
    page = Paginator(videos, settings.STUDIO_GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    template = "generations/gallery.html"
    if request.htmx:
        template += "#gallery-grid"
    context = {"page": page, "watermark": watermark, "watermarks": Video.Watermark.choices}
    return render(request, template, context)


@login_required
@require_GET
def video_file(request: HttpRequest, video_id: str) -> HttpResponse:
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
def video_poster(request: HttpRequest, video_id: str) -> HttpResponse:
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
def admin_video_poster(request: HttpRequest, video_id: str) -> HttpResponse:
    video = get_object_or_404(Video, pk=video_id)
    return serve_file(request, video.poster, content_type="image/jpeg")


@login_required
@require_POST
def video_delete(request: HttpRequest, video_id: str) -> HttpResponse:
    video = selectors.video_get_for_user(request.user, video_id)
    services.video_delete(video=video)
    messages.success(request, "Video deleted.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery"))
    return redirect("gallery")


def _assets_panel(
    request: HttpRequest, upload_form: UploadForm, *, selected: Any = None, status: int = 200
) -> HttpResponse:
    """The assets panel; for htmx it also refreshes the reference picker out of band."""
    reference_form = GenerateForm(initial={"reference": selected}, user=request.user)
    context = {
        "upload_form": upload_form,
        "assets": selectors.assets_for_user(request.user)[:24],
        "form": reference_form,
        "oob": True,
    }
    return render(request, "generations/dashboard.html#assets-panel", context, status=status)


@login_required
@require_POST
def asset_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    asset = None
    if form.is_valid():
        try:
            asset = services.asset_create(owner=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            form = UploadForm()
    if not request.htmx and not form.errors:
        return redirect("dashboard")
    status = 400 if form.errors and not request.htmx else 200
    return _assets_panel(request, form, selected=asset.pk if asset else None, status=status)


@login_required
@require_GET
def asset_thumbnail(request: HttpRequest, asset_id: str) -> HttpResponse:
    asset = selectors.asset_get_for_user(request.user, asset_id)
    return serve_file(request, asset.thumbnail, content_type="image/jpeg")


@login_required
@require_POST
def asset_delete(request: HttpRequest, asset_id: str) -> HttpResponse:
    asset = selectors.asset_get_for_user(request.user, asset_id)
    services.asset_delete(asset=asset)
    if request.htmx:
        return _assets_panel(request, UploadForm())
    return redirect("dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Check any image or video: its Content Credentials and whether our invisible
    watermark names a Video of this studio (which one only for its owner)."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.media_verify(upload=form.cleaned_data["file"], viewer=request.user)
        except ValidationError as exc:
            form.add_error("file", exc.messages)
    template = "generations/verify.html"
    if request.htmx:
        template += "#verify-result"
    return render(request, template, {"form": form, "report": report})
