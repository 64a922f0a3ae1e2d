"""Views: the Create-video dashboard, job cards, detail pages and uploads (the gallery is
the library's).

Function views of a few lines; logic lives in services and selectors. A view renders its
page, or for htmx requests the partial the page defines inline.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.plans import account_get_for_user
from core.http import AuthedRequest
from core.serving import serve_file
from core.uploads import refuse_oversized
from generations import selectors, services
from generations.forms import GenerateForm, UploadForm
from generations.models import Asset, Generation, Video
from generations.pricing import month_spend
from generations.spec import MAX_SECONDS, GenerationSpec
from media.frames import ASPECT_RATIOS
from providers.registry import UnknownProvider, get_provider
from teams.selectors import membership_get


def _dashboard_context(request: AuthedRequest, form: GenerateForm) -> dict[str, Any]:
    return {
        "form": form,
        "upload_form": UploadForm(),
        "assets": selectors.asset_list_for_user(request.user)[:24],
        "jobs": selectors.generation_list_recent(request.user),
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


def _initial_from_asset(asset: Asset) -> dict[str, Any]:
    """An edit of an upload or an imported file: it is the parent and the reference, and
    the shape and length follow it."""
    shape = asset.width / asset.height if asset.height else 16 / 9
    aspect = min(
        ASPECT_RATIOS, key=lambda name: abs(ASPECT_RATIOS[name][0] / ASPECT_RATIOS[name][1] - shape)
    )
    initial: dict[str, Any] = {
        "aspect_ratio": aspect,
        "reference": asset.pk,
        "parent_asset": asset.pk,
    }
    if asset.duration:
        initial["seconds"] = max(1, min(MAX_SECONDS, round(asset.duration)))
    return initial


@login_required
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    """The composer; ``?from=<generation>`` or ``?from_asset=<upload>`` starts an edit of it."""
    initial: dict[str, Any] = {}
    parent_asset = None
    if source := request.GET.get("from"):
        initial = _initial_from(selectors.generation_get_for_user(request.user, source))
    elif asset_id := request.GET.get("from_asset"):
        parent_asset = selectors.asset_get_for_user(request.user, asset_id)
        initial = _initial_from_asset(parent_asset)
    form = GenerateForm(initial=initial, user=request.user)
    context = {**_dashboard_context(request, form), "parent_asset": parent_asset}
    return render(request, "generations/dashboard.html", context)


@login_required
@require_POST
def generate(request: AuthedRequest) -> HttpResponse:
    form = GenerateForm(request.POST, user=request.user)
    new_job = None
    if form.is_valid():
        data = form.cleaned_data
        parent = parent_asset = None
        if data["parent"]:
            parent = selectors.generation_get_for_user(request.user, data["parent"])
        if data["parent_asset"]:
            parent_asset = selectors.asset_get_for_user(request.user, data["parent_asset"])
        try:
            if request.POST.get("action") == "compare":
                jobs = services.generation_compare(
                    owner=request.user,
                    spec=form.spec(parent=parent, parent_asset=parent_asset),
                    models=data["compare"],
                )
                url = reverse("generation_compare", args=[jobs[0].compare_group])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            new_job = services.generation_create(
                owner=request.user, spec=form.spec(parent=parent, parent_asset=parent_asset)
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if not request.htmx:
                return redirect("dashboard")
            keep = {
                k: data[k]
                for k in ("resolution", "aspect_ratio", "seconds", "variations", "provider", "team")
            }
            form = GenerateForm(initial=keep, user=request.user)
    context = {**_dashboard_context(request, form), "new_job": new_job}
    if request.htmx:
        return render(request, "generations/dashboard.html#create-panel", context)
    return render(request, "generations/dashboard.html", context)


@login_required
@require_GET
def generation_compare(request: AuthedRequest, group: UUID) -> HttpResponse:
    """One Compare: the generations made from one prompt on several models, side by side."""
    jobs = selectors.generation_group_for_user(request.user, group)
    return render(request, "generations/compare.html", {"jobs": jobs, "first": jobs[0]})


@login_required
@require_GET
def generation_card(request: AuthedRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_card_get_for_user(request.user, generation_id)
    if request.GET.get("seen") == generation.card_version:
        return HttpResponse(status=204)  # nothing changed: htmx keeps the card and polls on
    return render(request, "generations/dashboard.html#job-card", {"job": generation})


@login_required
@require_POST
def generation_cancel(request: AuthedRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_get_for_user(request.user, generation_id)
    services.generation_cancel(generation=generation, by=request.user)
    generation.refresh_from_db()
    if request.htmx:
        return render(request, "generations/dashboard.html#job-card", {"job": generation})
    return redirect("dashboard")


@login_required
@require_GET
def generation_detail(request: AuthedRequest, generation_id: str) -> HttpResponse:
    generation = selectors.generation_get_for_user(request.user, generation_id)
    return _detail(request, generation, video=None)


@login_required
@require_GET
def video_detail(request: AuthedRequest, video_id: str) -> HttpResponse:
    video = selectors.video_get_for_user(request.user, video_id)
    return _detail(request, video.generation, video=video)


def _detail(request: AuthedRequest, generation: Generation, video: Video | None) -> HttpResponse:
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
    watermark_free = account_get_for_user(request.user).plan.watermark_free
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
def video_derive(request: AuthedRequest, video_id: str) -> HttpResponse:
    """Remix or extend a video on the provider that made it (when it offers that)."""
    video = selectors.video_get_for_user(request.user, video_id)
    try:
        spec = GenerationSpec.derived(
            video,
            operation=request.POST.get("operation", ""),
            prompt=request.POST.get("prompt", ""),
            seconds=int(request.POST.get("seconds") or 0) or None,
        )
        generation = services.generation_create(owner=request.user, spec=spec)
    except (ValidationError, ValueError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else "Pick a length."
        messages.error(request, text)
        return redirect(video.get_absolute_url())
    if request.htmx:
        return HttpResponseClientRedirect(generation.get_absolute_url())
    return redirect(generation.get_absolute_url())


@login_required
@require_POST
def video_delete(request: AuthedRequest, video_id: str) -> HttpResponse:
    video = selectors.video_get_for_user(request.user, video_id)
    services.video_delete(video=video)
    messages.success(request, "Video deleted.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery"))
    return redirect("gallery")


def _assets_panel(
    request: AuthedRequest,
    upload_form: UploadForm,
    *,
    selected: UUID | None = None,
    status: int = 200,
) -> HttpResponse:
    """The assets panel; for htmx it also refreshes the reference picker out of band."""
    reference_form = GenerateForm(initial={"reference": selected}, user=request.user)
    context = {
        "upload_form": upload_form,
        "assets": selectors.asset_list_for_user(request.user)[:24],
        "form": reference_form,
        "oob": True,
    }
    return render(request, "generations/dashboard.html#assets-panel", context, status=status)


@login_required
@require_POST
def asset_upload(request: AuthedRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    refuse_oversized(request, form)
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
def asset_thumbnail(request: AuthedRequest, asset_id: str) -> HttpResponseBase:
    asset = selectors.asset_get_for_user(request.user, asset_id)
    return serve_file(request, asset.thumbnail, content_type="image/jpeg")


@login_required
@require_POST
def asset_delete(request: AuthedRequest, asset_id: str) -> HttpResponse:
    asset = selectors.asset_get_for_user(request.user, asset_id)
    services.asset_delete(asset=asset)
    if request.htmx:
        return _assets_panel(request, UploadForm())
    return redirect("dashboard")


@login_required
@require_GET
def team_jobs(request: AuthedRequest, team_id: int) -> HttpResponse:
    """A team's jobs, every member's, with what is left of its plan (404 to non-members).
    Other members' prompts and videos are not shown: they stay private unless put in a
    shared folder."""
    mine = membership_get(request.user, team_id)
    context = {
        "team": mine.team,
        "mine": mine,
        "jobs": selectors.generation_list_for_team(mine.team_id),
        "usage": selectors.usage_get_for_team(mine.team_id, mine.team.plan),
        "spent": month_spend(0, team_id=mine.team_id),
    }
    return render(request, "generations/team_jobs.html", context)
