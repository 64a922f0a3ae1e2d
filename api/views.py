"""``/v1/`` views in the OpenAI Videos protocol: create, retrieve, list, delete, content,
remix, extensions, edits, and the OpenAPI document.

Every view is wrapped by ``api_view``: Bearer key (401), the key's rate limits (429),
errors in OpenAI's shape, and a body that cannot be parsed is a 400, never a 500. The
caller acts as the key's owner, with that owner's plan, exactly as on the dashboard.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account, Plan
from accounts.plans import account_get_for_user
from api import content, services
from api.errors import ApiError, error_response, not_found
from api.keys import apikey_authenticate
from api.models import ApiKey
from api.openapi import openapi_document
from api.protocol import generation_pk, poll_after_ms, video_object
from api.ratelimit import rate_take
from core.serving import serve_bytes, serve_file
from delivery import finishing
from generations.models import Generation
from generations.states import State
from media import MediaError

View = Callable[..., HttpResponseBase]
MAX_JSON_BYTES = 30 * 1024 * 1024


class ApiRequest(HttpRequest):
    api_key: ApiKey


def api_view(*methods: str, creates: bool = False) -> Callable[[View], View]:
    """Authenticate, rate-limit and answer errors in OpenAI's shape for a /v1/ view."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            request_id = "req_" + uuid.uuid4().hex
            started = time.perf_counter()
            headers: dict[str, str] = {}
            try:
                if request.method not in methods:
                    raise ApiError(
                        405, f"{request.method} is not allowed here.", code="method_not_allowed"
                    )
                key = _authenticate(request)
                plan = _plan(key)
                headers.update(
                    rate_take(key.pk, "requests", plan.api_requests_per_minute).headers("requests")
                )
                if creates:
                    rate_take(key.pk, "creates", plan.api_creates_per_minute)
                request.user = key.owner
                api_request: Any = request
                api_request.api_key = key
                response = view(request, *args, **kwargs)
            except ApiError as exc:
                response = exc.response()
                if exc.status == 405:
                    response["Allow"] = ", ".join(methods)
            except (
                RequestDataTooBig,
                MultiPartParserError,
                SuspiciousOperation,
                BadRequest,
                UnicodeDecodeError,
            ) as exc:
                response = error_response(400, f"The request body could not be read: {exc}")
            for name, value in headers.items():
                response.setdefault(name, value)
            response["x-request-id"] = request_id
            # As OpenAI's API does: the server's own time for the request, in milliseconds.
            response["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
            return response

        return wrapper

    return decorate


def _plan(key: ApiKey) -> Plan:
    """The key owner's plan (loaded with the key; made on first use like the dashboard's)."""
    try:
        return key.owner.account.plan
    except Account.DoesNotExist:
        return account_get_for_user(key.owner).plan


def _authenticate(request: HttpRequest) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401,
            "You didn't provide an API key. Send 'Authorization: Bearer sk-studio-...'; make a "
            "key on the Settings page.",
            code="missing_api_key",
        )
    key = apikey_authenticate(secret.strip())
    if key is None:
        raise ApiError(401, "Incorrect or revoked API key.", code="invalid_api_key")
    return key


def _fields(request: HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile[bytes]]]:
    """A POST's fields (JSON or multipart / form), with ``name[sub]`` form fields folded
    into objects as the SDK's ``extra_body`` sends them; and its file uploads."""
    content_type = request.content_type or ""
    if content_type == "application/json":
        raw = request.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            raise ApiError(413, "The request body is too large.")
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return data, {}
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded", ""):
        raise ApiError(
            400,
            f"Content-Type {content_type} is not accepted: send multipart/form-data or JSON.",
        )
    fields: dict[str, Any] = {}
    for name in request.POST:
        value = request.POST.get(name)
        base, bracket, sub = name.partition("[")
        if bracket and sub.endswith("]"):
            nested = fields.setdefault(base, {})
            if isinstance(nested, dict):
                nested[sub[:-1]] = value
        else:
            fields[name] = value
    uploads: dict[str, UploadedFile[bytes]] = {}
    for name in request.FILES:
        upload = request.FILES.get(name)
        if isinstance(upload, UploadedFile):
            uploads[name] = upload
    return fields, uploads


def _video_response(generation: Generation, status: int = 200) -> JsonResponse:
    response = JsonResponse(video_object(generation), status=status)
    hint = poll_after_ms(generation)
    if hint is not None:
        response["openai-poll-after-ms"] = str(hint)
    return response


@api_view("GET", "POST")
def videos(request: ApiRequest) -> HttpResponseBase:
    if request.method == "POST":
        return _create(request)
    return _list(request)


def _create(request: ApiRequest) -> HttpResponseBase:
    key = request.api_key
    rate_take(key.pk, "creates", _plan(key).api_creates_per_minute)
    fields, uploads = _fields(request)
    generation, made = services.video_create(
        owner=key.owner,
        fields=fields,
        uploads=uploads,
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
    )
    response = _video_response(generation)
    if not made:
        response["Idempotent-Replayed"] = "true"
    return response


def _list(request: ApiRequest) -> HttpResponseBase:
    limit_text = request.GET.get("limit", "20")
    try:
        limit = int(limit_text)
    except ValueError:
        raise ApiError(
            400, "'limit' must be a whole number from 1 to 100.", param="limit"
        ) from None
    if not 1 <= limit <= 100:
        raise ApiError(400, "'limit' must be a whole number from 1 to 100.", param="limit")
    order = request.GET.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(400, "'order' must be 'asc' or 'desc'.", param="order")
    rows = services.generations_for_protocol(request.api_key.owner).exclude(state=State.DRAFT)
    after = request.GET.get("after")
    if after:
        if generation_pk(after) is None:
            raise ApiError(400, "'after' must be a video id (video_...).", param="after")
        try:
            cursor = services.generation_for(request.api_key.owner, after)
        except ApiError:  # none, or another owner's: the same 404 as on every route
            raise ApiError(
                404, "'after' names no video of yours.", param="after", code="not_found"
            ) from None
        if order == "desc":
            rows = rows.filter(
                Q(created_at__lt=cursor.created_at)
                | Q(created_at=cursor.created_at, pk__lt=cursor.pk)
            )
        else:
            rows = rows.filter(
                Q(created_at__gt=cursor.created_at)
                | Q(created_at=cursor.created_at, pk__gt=cursor.pk)
            )
    ordering = ["-created_at", "-pk"] if order == "desc" else ["created_at", "pk"]
    page = list(rows.order_by(*ordering)[: limit + 1])
    data = [video_object(g) for g in page[:limit]]
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(page) > limit,
        }
    )


@api_view("GET", "DELETE")
def video(request: ApiRequest, video_id: str) -> HttpResponseBase:
    generation = services.generation_for(request.api_key.owner, video_id)
    if request.method == "DELETE":
        services.video_delete(generation=generation)
        return JsonResponse({"id": video_id, "object": "video.deleted", "deleted": True})
    return _video_response(generation)


@api_view("GET")
def video_content(request: ApiRequest, video_id: str) -> HttpResponseBase:
    generation = services.generation_for(request.api_key.owner, video_id)
    variant = request.GET.get("variant", "video")
    if variant not in content.VARIANTS:
        raise ApiError(
            400, "'variant' must be one of video, thumbnail, spritesheet.", param="variant"
        )
    video = generation.videos.order_by("index").first()
    if generation.state != State.SUCCEEDED or video is None:
        raise ApiError(
            400,
            f"Video {video_id} is {video_object(generation)['status']}: its content is "
            "downloadable once it is completed.",
            code="video_not_ready",
        )
    try:
        served = finishing.served_file(video)
    except finishing.DeliveryPending:
        return error_response(
            503,
            "This video's file is still being made. Try again in a minute.",
            code="content_pending",
            headers={"Retry-After": "30"},
        )
    if variant == "video":
        return serve_file(request, served, content_type="video/mp4")
    try:
        data = content.still_bytes(video, served, variant)
    except MediaError:
        raise not_found("content") from None
    return serve_bytes(request, data, content_type=content.CONTENT_TYPES[variant])


@api_view("POST", creates=True)
def video_remix(request: ApiRequest, video_id: str) -> HttpResponseBase:
    fields, _ = _fields(request)
    generation = services.video_derive(
        owner=request.api_key.owner, operation="remix", fields=fields, source=video_id
    )
    return _video_response(generation)


@api_view("POST", creates=True)
def video_extensions(request: ApiRequest) -> HttpResponseBase:
    fields, uploads = _fields(request)
    if uploads:
        raise ApiError(400, 'Studio extends its own videos: send video={"id": ...}.', param="video")
    generation = services.video_derive(
        owner=request.api_key.owner, operation="extend", fields=fields, source=fields.get("video")
    )
    return _video_response(generation)


@api_view("POST", creates=True)
def video_edits(request: ApiRequest) -> HttpResponseBase:
    fields, uploads = _fields(request)
    if uploads:
        raise ApiError(400, 'Studio edits its own videos: send video={"id": ...}.', param="video")
    generation = services.video_derive(
        owner=request.api_key.owner, operation="edit", fields=fields, source=fields.get("video")
    )
    return _video_response(generation)


@csrf_exempt
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 document of /v1/ (public: it describes, it holds nothing)."""
    return JsonResponse(openapi_document(request.build_absolute_uri("/v1")))


@csrf_exempt
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, f"Studio serves no {request.method} /v1/{rest}.", code="unknown_url")
