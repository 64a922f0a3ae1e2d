"""The OpenAPI 3.1 document of Studio's ``/v1/``: what the views serve, field by field
(``tests/api/test_openapi.py`` runs schemathesis against it on a live server)."""

from __future__ import annotations

from typing import Any

from api.protocol import SIZES
from media.frames import ASPECT_RATIOS, RESOLUTIONS

ERROR_CODES = ("400", "401", "403", "404", "405", "409", "413", "422", "429")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": "#/components/responses/Error"} for code in codes}


_BINARY = {
    kind: {"schema": {"type": "string", "format": "binary"}}
    for kind in ("video/mp4", "image/webp", "image/jpeg")
}
_VIDEO_ID = {
    "name": "video_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "A video id (video_...).",
}
_CREATE_FIELDS: dict[str, Any] = {
    "prompt": {"type": "string", "minLength": 1, "maxLength": 32000},
    "model": {"type": "string", "description": "A picker id: offline, or provider:model."},
    "seconds": {"type": "string", "description": 'Clip length in seconds, e.g. "4".'},
    "size": {"type": "string", "enum": sorted(SIZES)},
    "resolution": {"type": "string", "enum": list(RESOLUTIONS)},
    "aspect_ratio": {"type": "string", "enum": list(ASPECT_RATIOS)},
    "duration": {"type": "number", "description": "Alias of seconds."},
    "fps": {"type": "integer", "description": "Studio makes 24 fps."},
}
_DERIVE_FIELDS: dict[str, Any] = {
    "prompt": {"type": "string", "minLength": 1, "maxLength": 32000},
    "video": {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "required": ["id"],
    },
    "seconds": {"type": "string"},
}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The document, with ``server_url`` (this studio's /v1) as its server."""
    video_ok = _json(_ref("Video"), "The video.")
    video_ok["headers"] = {
        "openai-poll-after-ms": {
            "description": "Milliseconds to wait before the next retrieve, while it runs.",
            "schema": {"type": "string"},
        }
    }
    derive_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": _DERIVE_FIELDS,
                    "required": ["prompt", "video"],
                }
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Studio Videos API",
            "version": "1",
            "description": "OpenAI's /v1/videos protocol, served by Studio. Point the "
            "official openai SDK's base_url here and use a key from Settings.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/videos": {
                "post": {
                    "operationId": "createVideo",
                    "summary": "Create a video",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        **_CREATE_FIELDS,
                                        "input_reference": {
                                            "type": "string",
                                            "format": "binary",
                                        },
                                    },
                                    "required": ["prompt"],
                                }
                            },
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        **_CREATE_FIELDS,
                                        "input_reference": _ref("ImageReference"),
                                    },
                                    "required": ["prompt"],
                                }
                            },
                        },
                    },
                    "responses": {"200": video_ok, **_errors(*ERROR_CODES)},
                },
                "get": {
                    "operationId": "listVideos",
                    "summary": "List your videos, newest first",
                    "parameters": [
                        {"name": "after", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "order",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["asc", "desc"]},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("VideoList"), "A page of videos."),
                        **_errors(*ERROR_CODES),
                    },
                },
            },
            "/videos/{video_id}": {
                "get": {
                    "operationId": "retrieveVideo",
                    "parameters": [_VIDEO_ID],
                    "responses": {"200": video_ok, **_errors(*ERROR_CODES)},
                },
                "delete": {
                    "operationId": "deleteVideo",
                    "parameters": [_VIDEO_ID],
                    "responses": {
                        "200": _json(_ref("DeletedVideo"), "Deleted."),
                        **_errors(*ERROR_CODES),
                    },
                },
            },
            "/videos/{video_id}/content": {
                "get": {
                    "operationId": "downloadVideoContent",
                    "parameters": [
                        _VIDEO_ID,
                        {
                            "name": "variant",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["video", "thumbnail", "spritesheet"],
                            },
                        },
                        {
                            "name": "Range",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "One byte range, bytes=a-b, bytes=a- or bytes=-n "
                            "(every variant).",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The bytes: MP4, WebP thumbnail or JPEG spritesheet.",
                            "content": _BINARY,
                        },
                        "206": {
                            "description": "The byte range asked for, of any variant.",
                            "content": _BINARY,
                        },
                        "416": {"description": "The range is outside the file."},
                        "503": {"$ref": "#/components/responses/Error"},
                        **_errors(*ERROR_CODES),
                    },
                },
            },
            "/videos/{video_id}/remix": {
                "post": {
                    "operationId": "remixVideo",
                    "parameters": [_VIDEO_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"prompt": _DERIVE_FIELDS["prompt"]},
                                    "required": ["prompt"],
                                }
                            }
                        },
                    },
                    "responses": {"200": video_ok, **_errors(*ERROR_CODES)},
                }
            },
            "/videos/extensions": {
                "post": {
                    "operationId": "extendVideo",
                    "requestBody": derive_body,
                    "responses": {"200": video_ok, **_errors(*ERROR_CODES)},
                }
            },
            "/videos/edits": {
                "post": {
                    "operationId": "editVideo",
                    "requestBody": derive_body,
                    "responses": {"200": video_ok, **_errors(*ERROR_CODES)},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": _json(_ref("Error"), "An error in OpenAI's shape.")},
            "schemas": {
                "Video": {
                    "type": "object",
                    "required": [
                        "id",
                        "object",
                        "model",
                        "status",
                        "progress",
                        "created_at",
                        "size",
                        "seconds",
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"const": "video"},
                        "model": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["queued", "in_progress", "completed", "failed"],
                        },
                        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                        "created_at": {"type": "integer"},
                        "completed_at": {"type": ["integer", "null"]},
                        "expires_at": {"type": ["integer", "null"]},
                        "prompt": {"type": ["string", "null"]},
                        "size": {"type": "string"},
                        "seconds": {"type": "string"},
                        "remixed_from_video_id": {"type": ["string", "null"]},
                        "error": {
                            "oneOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "required": ["code", "message"],
                                    "properties": {
                                        "code": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                },
                            ]
                        },
                    },
                },
                "VideoList": {
                    "type": "object",
                    "required": ["object", "data", "first_id", "last_id", "has_more"],
                    "properties": {
                        "object": {"const": "list"},
                        "data": {"type": "array", "items": _ref("Video")},
                        "first_id": {"type": ["string", "null"]},
                        "last_id": {"type": ["string", "null"]},
                        "has_more": {"type": "boolean"},
                    },
                },
                "DeletedVideo": {
                    "type": "object",
                    "required": ["id", "object", "deleted"],
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"const": "video.deleted"},
                        "deleted": {"type": "boolean"},
                    },
                },
                "ImageReference": {
                    "type": "object",
                    "properties": {
                        "file_id": {"type": "string"},
                        "image_url": {"type": "string", "description": "A data: URL."},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["message", "type", "param", "code"],
                            "properties": {
                                "message": {"type": "string"},
                                "type": {"type": "string"},
                                "param": {"type": ["string", "null"]},
                                "code": {"type": ["string", "null"]},
                            },
                        }
                    },
                },
            },
        },
    }
