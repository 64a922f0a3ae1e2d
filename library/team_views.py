"""The pages of a team's shared folders (every one answers 404 to anyone not in the team):
the folders, one folder's videos, a shared video's file, making and deleting folders, and
reporting a shared video to the operators."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.http import AuthedRequest
from core.serving import serve_file
from delivery.finishing import DeliveryPending, served_file
from library import team_folders
from library.forms import FolderForm, ReportForm
from library.ratelimit import client_address
from policy import review
from teams.selectors import membership_get


@login_required
@require_GET
def folders(request: AuthedRequest, team_id: int) -> HttpResponse:
    mine = membership_get(request.user, team_id)
    context = {"team": mine.team, "mine": mine, "folders": team_folders.team_folders(mine.team)}
    return render(request, "library/team_folders.html", context)


@login_required
@require_POST
def folder_create(request: AuthedRequest, team_id: int) -> HttpResponse:
    mine = membership_get(request.user, team_id)
    form = FolderForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Give the folder a name.")
        folder = team_folders.team_folder_create(
            team=mine.team, by=mine, name=form.cleaned_data["name"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("team_folders", team_id=mine.team_id)
    messages.success(
        request, f"Shared folder {folder.name!r} made: move videos in from your gallery."
    )
    return redirect("team_folder", team_id=mine.team_id, folder_id=folder.pk)


@login_required
@require_GET
def folder(request: AuthedRequest, team_id: int, folder_id: int) -> HttpResponse:
    mine = membership_get(request.user, team_id)
    shared = team_folders.team_folder_get(mine.team, folder_id)
    context = {
        "team": mine.team,
        "mine": mine,
        "folder": shared,
        "cards": team_folders.folder_generations(shared),
        "report_form": ReportForm(),
    }
    return render(request, "library/team_folder.html", context)


@login_required
@require_POST
def folder_delete(request: AuthedRequest, team_id: int, folder_id: int) -> HttpResponse:
    mine = membership_get(request.user, team_id)
    shared = team_folders.team_folder_get(mine.team, folder_id)
    try:
        team_folders.team_folder_delete(folder=shared, by=mine)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("team_folder", team_id=mine.team_id, folder_id=shared.pk)
    messages.success(request, f"Folder {shared.name!r} deleted; its videos stay with their makers.")
    return redirect("team_folders", team_id=mine.team_id)


@login_required
@require_GET
def video_file(request: AuthedRequest, team_id: int, video_id: str) -> HttpResponseBase:
    """A shared video's file, as its creator's plan serves it (delivery's rule)."""
    mine = membership_get(request.user, team_id)
    video = team_folders.shared_video_get(mine.team, video_id)
    try:
        field_file = served_file(video)
    except DeliveryPending:
        response = HttpResponse("This video is still being prepared.", status=503)
        response["Retry-After"] = "30"
        return response
    return serve_file(request, field_file, content_type="video/mp4")


@login_required
@require_http_methods(["GET", "POST"])
def video_report(request: AuthedRequest, team_id: int, video_id: str) -> HttpResponse:
    """Report a video shared with the team to the operators' review queue."""
    mine = membership_get(request.user, team_id)
    video = team_folders.shared_video_get(mine.team, video_id)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            review.report_create(
                video=video,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                reporter_id=request.user.pk,
                ip=client_address(request),
            )
        except review.ReportRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Thank you: an operator will look at this video.")
            return redirect("team_folders", team_id=mine.team_id)
    context = {"form": form, "video": video, "action_team": mine.team}
    return render(request, "library/report.html", context)
