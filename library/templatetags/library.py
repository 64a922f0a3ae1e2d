"""Template tags other apps' pages use to show library state: a generation's star, its
lineage ("made from" / "used in"), and one branch of a remix tree."""

from __future__ import annotations

from typing import Any

from django import template

from generations.models import Generation
from library.models import Entry, Preferences
from library.selectors import folder_list_for_user, lineage_for

register = template.Library()


@register.inclusion_tag("library/star.html", takes_context=True)
def favourite_star(context: dict[str, Any], generation: Generation) -> dict[str, Any]:
    starred = Entry.objects.filter(generation=generation, favourite=True).exists()
    return {
        "request": context.get("request"),
        "generation": generation,
        "favourite": starred,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("library/default_folder_picker.html", takes_context=True)
def default_folder_picker(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "folders": folder_list_for_user(user) if user is not None else [],
        "default_folder_id": Preferences.objects.filter(owner=user)
        .values_list("default_folder_id", flat=True)
        .first(),
    }


@register.inclusion_tag("library/lineage.html")
def lineage_panel(generation: Generation) -> dict[str, Any]:
    return {"generation": generation, "lineage": lineage_for(generation)}


@register.inclusion_tag("library/branch.html")
def remix_branch(
    node: Generation, children: dict[Any, list[Generation]], current: Generation
) -> dict[str, Any]:
    return {
        "node": node,
        "kids": children.get(node.pk, []),
        "children": children,
        "current": current,
    }
