"""Studio's S3 storage (django-storages): presigned links for browsers on their own endpoint,
ranged reads for streaming, and a cheap reachability check for /readyz."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.client import Config
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

_CHUNK = 256 * 1024


class StudioS3Storage(S3Storage):  # type: ignore[misc]  # django-storages ships no types
    """S3Storage whose presigned URLs may name another endpoint than the one Studio uses
    (``public_endpoint_url``): in compose Studio reaches MinIO as http://minio:9000 while
    browsers reach it on the host. Signing is local, so a second client costs no call."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._public_clients = threading.local()

    def get_default_settings(self) -> dict[str, Any]:
        defaults: dict[str, Any] = super().get_default_settings()
        defaults["public_endpoint_url"] = None
        return defaults

    def presigned_url(self, name: str, *, content_type: str, download_name: str | None) -> str:
        """A short-lived GET link for one object, with the type and file name the view
        would have answered with."""
        params = {"ResponseContentType": content_type}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        if not self.public_endpoint_url:
            return str(self.url(name, parameters=params))
        params["Bucket"] = self.bucket_name
        params["Key"] = self._normalize_name(clean_name(name))
        url = self._public_client().generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.querystring_expire
        )
        return str(url)

    def presigned_put(self, name: str, *, content_type: str, seconds: int) -> str:
        """A link a process without credentials (a GPU worker on another machine) can PUT
        one object to, with exactly this content type, for ``seconds``."""
        params = {
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
            "ContentType": content_type,
        }
        url = self.connection.meta.client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=seconds
        )
        return str(url)

    def read_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of an object, fetched as one ranged GET and
        handed on in chunks (the whole object is never held)."""
        key = self._normalize_name(clean_name(name))
        body = self.bucket.Object(key).get(Range=f"bytes={start}-{end}")["Body"]
        try:
            yield from body.iter_chunks(_CHUNK)
        finally:
            body.close()

    def ping(self) -> None:
        """Raise unless the bucket answers (one HEAD request)."""
        self.connection.meta.client.head_bucket(Bucket=self.bucket_name)

    def _public_client(self) -> Any:
        client = getattr(self._public_clients, "client", None)
        if client is None:
            session = boto3.Session(
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                aws_session_token=self.security_token,
            )
            client = session.client(
                "s3",
                region_name=self.region_name,
                endpoint_url=self.public_endpoint_url,
                config=Config(
                    signature_version=self.signature_version,
                    s3={"addressing_style": self.addressing_style},
                ),
            )
            self._public_clients.client = client
        return client
