"""The library's pages for signed-in creators: the grid of videos and of uploads (search and
filters in the URL, applied by htmx), stars, folders, bulk actions and the archive import.

Function views of a few lines; writes go through ``library.services``, reads through
``library.selectors`` and generations' owner-filtering selectors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.http import AuthedRequest
from generations import selectors as generation_selectors
from library import selectors, services
from library.cards import generation_cards, upload_cards
from library.forms import FilterForm, FolderForm, ImportForm
from library.importing import archive_import_start
from library.models import Preferences
from library.team_folders import folders_to_share_into
from library.zips import zip_response


def _query(values: dict[str, Any], **changes: Any) -> str:
    merged = {**values, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


def _grid_context(
    request: AuthedRequest, form: FilterForm, values: dict[str, Any]
) -> dict[str, Any]:
    folders = selectors.folder_list_for_user(request.user)
    current = next((f for f in folders if f.pk == values.get("folder")), None)
    default = (
        Preferences.objects.filter(owner=request.user)
        .values_list("default_folder_id", flat=True)
        .first()
    )
    return {
        "form": form,
        "values": values,
        "folders": folders,
        "team_folders": folders_to_share_into(request.user),
        "current_folder": current,
        "default_folder_id": default,
        "older_query": _query(values, page=values.get("page", 1) + 1),
        "newer_query": _query(values, page=values.get("page", 1) - 1),
        "filtered": any(k not in ("page", "sort") for k in values),
    }


def _other_tab(request: AuthedRequest, name: str, values: dict[str, Any]) -> HttpResponse:
    """Kind "generated" lives on the Videos tab, "uploaded" and "imported" on Uploads: a
    kind picked on the other tab goes there, with the other filters that apply there."""
    keep = {k: v for k, v in values.items() if k in ("q", "sort", "favourites", "folder")}
    if name == "library_uploads":
        keep["kind"] = values["kind"]
    target = reverse(name) + (f"?{_query(keep)}" if _query(keep) else "")
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@login_required
@require_GET
def gallery(request: AuthedRequest) -> HttpResponse:
    """The creator's videos: one card per generation, its takes side by side."""
    form = FilterForm(request.GET)
    values = form.values()
    if values.get("kind") in ("uploaded", "imported"):
        return _other_tab(request, "library_uploads", values)
    page = selectors.library_page(request.user, values)
    context = {
        **_grid_context(request, form, values),
        "page": page,
        "cards": generation_cards(page.cards),
        "tab": "videos",
    }
    template = "library/gallery.html"
    if request.htmx and not request.htmx.boosted:
        template += "#gallery-grid"
    return render(request, template, context)


@login_required
@require_GET
def uploads(request: AuthedRequest) -> HttpResponse:
    """The creator's uploads and imported files, with the same grid, search and delete."""
    form = FilterForm(request.GET)
    values = form.values()
    if values.get("kind") == "generated":
        return _other_tab(request, "gallery", values)
    page = selectors.uploads_page(request.user, values)
    context = {
        **_grid_context(request, form, values),
        "page": page,
        "cards": upload_cards(page.cards),
        "tab": "uploads",
        "import_form": ImportForm(),
        "imports": selectors.import_list_recent(request.user),
        **_imported_folder(request),
    }
    template = "library/uploads.html"
    if request.htmx and not request.htmx.boosted:
        template += "#gallery-grid"
    return render(request, template, context)


@login_required
@require_POST
def favourite(request: AuthedRequest, generation_id: str) -> HttpResponse:
    generation = generation_selectors.generation_get_for_user(request.user, generation_id)
    starred = services.entry_favourite_toggle(owner=request.user, generation=generation)
    if request.htmx:
        return render(
            request, "library/star.html", {"generation": generation, "favourite": starred}
        )
    return redirect(request.POST.get("next") or reverse("gallery"))


@login_required
@require_POST
def asset_favourite(request: AuthedRequest, asset_id: str) -> HttpResponse:
    asset = generation_selectors.asset_get_for_user(request.user, asset_id)
    starred = services.entry_favourite_toggle(owner=request.user, asset=asset)
    if request.htmx:
        return render(request, "library/star.html", {"asset": asset, "favourite": starred})
    return redirect(request.POST.get("next") or reverse("library_uploads"))


def _back(request: AuthedRequest) -> HttpResponse:
    target = request.POST.get("next") or reverse("gallery")
    if not target.startswith("/") or target.startswith("//"):
        target = reverse("gallery")
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@login_required
@require_POST
def folder_create(request: AuthedRequest) -> HttpResponse:
    form = FolderForm(request.POST)
    if form.is_valid():
        try:
            folder = services.folder_create(owner=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Folder {folder.name!r} made.")
    else:
        messages.error(request, "Give the folder a name.")
    return _back(request)


@login_required
@require_POST
def folder_rename(request: AuthedRequest, folder_id: int) -> HttpResponse:
    folder = selectors.folder_get_for_user(request.user, folder_id)
    try:
        services.folder_rename(folder=folder, name=request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request)


@login_required
@require_POST
def folder_delete(request: AuthedRequest, folder_id: int) -> HttpResponse:
    """Delete a folder; its cards stay in the library unless the creator ticked "also
    delete" and confirmed."""
    folder = selectors.folder_get_for_user(request.user, folder_id)
    name = folder.name
    deleted = services.folder_delete(
        folder=folder, delete_contents=request.POST.get("delete_contents") == "yes"
    )
    text = f"Folder {name!r} deleted"
    messages.success(
        request,
        text + (f" with {deleted} items." if deleted else "; its videos stay in your library."),
    )
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery"))
    return redirect("gallery")


@login_required
@require_POST
def default_folder(request: AuthedRequest) -> HttpResponse:
    raw = request.POST.get("folder", "")
    folder = selectors.folder_get_for_user(request.user, raw) if raw else None
    services.default_folder_set(owner=request.user, folder=folder)
    if request.htmx:
        context = {
            "folders": selectors.folder_list_for_user(request.user),
            "default_folder_id": folder.pk if folder else None,
            "saved": True,
        }
        return render(request, "library/default_folder_picker.html", context)
    messages.success(
        request,
        f"New results go to {folder.name!r}." if folder else "New results go to no folder.",
    )
    return _back(request)


@login_required
@require_POST
def bulk(request: AuthedRequest) -> HttpResponseBase:
    """One action on the selected cards: star, unstar, move, zip, delete."""
    ids = request.POST.getlist("ids")
    generations = selectors.generations_for_user(request.user, ids)
    assets = selectors.assets_for_user(request.user, ids)
    action = request.POST.get("action", "")
    if not generations and not assets:
        messages.error(request, "Select at least one item first.")
        return _back(request)
    if action in ("favourite", "unfavourite"):
        n = services.cards_favourite(
            owner=request.user,
            favourite=action == "favourite",
            generations=generations,
            assets=assets,
        )
        messages.success(request, f"{n} {'starred' if action == 'favourite' else 'unstarred'}.")
    elif action == "move":
        raw = request.POST.get("folder", "")
        folder = selectors.folder_get_for_move(request.user, raw) if raw else None
        n = services.cards_move(
            owner=request.user, folder=folder, generations=generations, assets=assets
        )
        messages.success(request, f"{n} moved to {folder.name if folder else 'no folder'}.")
    elif action == "delete":
        n = services.cards_delete(generations=generations, assets=assets)
        messages.success(request, f"{n} deleted.")
    elif action == "zip":
        return zip_response(generations=generations, assets=assets)
    else:
        messages.error(request, "Pick an action.")
    return _back(request)


@login_required
@require_POST
def archive_upload(request: AuthedRequest) -> HttpResponse:
    """Store a zip of videos and images and hand it to a worker; the uploads page then shows
    its progress and, when done, what happened to each file."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a zip file to import.")
        return redirect("library_uploads")
    try:
        job = archive_import_start(owner=request.user, upload=form.cleaned_data["archive"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("library_uploads")
    messages.success(request, f"{job.archive_name} is being imported.")
    return redirect("library_uploads")


@login_required
@require_GET
def import_status(request: AuthedRequest, import_id: str) -> HttpResponse:
    """One import's progress or report (polled by htmx while it runs)."""
    job = selectors.import_get_for_user(request.user, import_id)
    return render(request, "library/import_status.html", {"job": job, **_imported_folder(request)})


def _imported_folder(request: AuthedRequest) -> dict[str, Any]:
    folder = selectors.folder_named(request.user, services.IMPORTED_FOLDER)
    return {"imported_folder": folder}


@login_required
@require_GET
def tree(request: AuthedRequest, generation_id: str) -> HttpResponse:
    """The remix tree a generation belongs to: its root ancestor and every descendant."""
    generation = generation_selectors.generation_get_for_user(request.user, generation_id)
    root, children = selectors.remix_tree(generation)
    lineage = selectors.lineage_for(generation)
    root_from = [row for row in selectors.lineage_for(root).made_from if row.parent_asset]
    context = {
        "generation": generation,
        "root": root,
        "children": children,
        "lineage": lineage,
        "root_from": root_from,
    }
    return render(request, "library/tree.html", context)
