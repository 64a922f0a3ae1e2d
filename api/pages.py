"""The Settings page for the API (keys: made, named, revoked; webhook endpoints and their
deliveries, replayable) and the API docs page with copy-paste examples."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from api import webhooks
from api.keys import apikey_create, apikey_get_for_user, apikey_revoke
from api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from core.http import AuthedRequest


class KeyForm(forms.Form):
    name = forms.CharField(max_length=80, required=False)


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(e, e) for e in WebhookEndpoint.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEndpoint.EVENT_TYPES),
    )


def _page(
    request: AuthedRequest,
    *,
    key_form: KeyForm | None = None,
    webhook_form: WebhookForm | None = None,
    new_secret: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context = {
        "keys": ApiKey.objects.filter(owner=user),
        "endpoints": WebhookEndpoint.objects.filter(owner=user),
        "deliveries": WebhookDelivery.objects.filter(endpoint__owner=user).select_related(
            "endpoint"
        )[:20],
        "key_form": key_form or KeyForm(),
        "webhook_form": webhook_form or WebhookForm(),
        "new_secret": new_secret,
        "base_url": request.build_absolute_uri("/v1"),
    }
    return render(request, "api/settings.html", context, status=status)


@login_required
@require_GET
def settings_page(request: AuthedRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def key_create(request: AuthedRequest) -> HttpResponse:
    form = KeyForm(request.POST)
    if not form.is_valid():
        return _page(request, key_form=form)
    made = apikey_create(
        owner=request.user, name=form.cleaned_data["name"], by=request.user, request=request
    )
    # The secret is shown in this answer only: never stored, never shown again.
    return _page(request, new_secret=made.secret)


@login_required
@require_POST
def key_revoke(request: AuthedRequest, key_id: int) -> HttpResponse:
    key = apikey_get_for_user(request.user, key_id)
    if apikey_revoke(key=key, by=request.user, request=request):
        messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("api_settings")


@login_required
@require_POST
def webhook_create(request: AuthedRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            endpoint = webhooks.endpoint_create(
                owner=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Endpoint added. Its signing secret: {endpoint.secret}")
            return redirect("api_settings")
    return _page(request, webhook_form=form)


@login_required
@require_POST
def webhook_delete(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhooks.endpoint_get_for_user(request.user, endpoint_id)
    webhooks.endpoint_delete(endpoint=endpoint, by=request.user, request=request)
    messages.success(request, "Endpoint removed.")
    return redirect("api_settings")


@login_required
@require_POST
def delivery_replay(request: AuthedRequest, delivery_id: int) -> HttpResponse:
    delivery = webhooks.delivery_get_for_user(request.user, delivery_id)
    webhooks.delivery_replay(delivery=delivery)
    messages.success(request, f"{delivery.event_type} will be sent again.")
    return redirect("api_settings")


@login_required
@require_GET
def docs_page(request: AuthedRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"base_url": request.build_absolute_uri("/v1")})
