"""The creator's side of reviews: their notices (a video hidden or restored, generation
suspended or reinstated), each dismissed once read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthedRequest
from policy.models import Notice
from policy.review import notice_dismiss


@login_required
@require_GET
def notice_list(request: AuthedRequest) -> HttpResponse:
    items = Notice.objects.filter(user=request.user)[:100]
    return render(request, "policy/notices.html", {"items": items})


@login_required
@require_POST
def notice_seen(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice_dismiss(user_id=request.user.pk, notice_id=notice_id)
    target = request.POST.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)
