"""A real S3-compatible server on loopback (moto's server mode) and the settings that point
Studio's storage at it, for the tests of object storage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from django.test.utils import override_settings
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "studio-test",
    "AWS_SECRET_ACCESS_KEY": "studio-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    server: ThreadedMotoServer
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def restart(self) -> None:
        """Start a new server on the same port (moto keeps its buckets in this process)."""
        self.server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self.server.start()


def start_s3_server() -> S3Server:
    os.environ.update(CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Server(server=server, host=host, port=port)


def storage_settings(s3: S3Server, bucket: str, *, prefix: str = "media") -> dict[str, Any]:
    """The STORAGES value that settings.py builds from STUDIO_STORAGE=s3."""
    return {
        "default": {
            "BACKEND": "core.objectstore.StudioS3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3.endpoint,
                "region_name": "us-east-1",
                "location": prefix,
                "public_endpoint_url": None,
                "querystring_expire": 300,
                "file_overwrite": False,
                "default_acl": None,
                "signature_version": "s3v4",
                "addressing_style": "path",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@contextmanager
def on_s3(s3: S3Server, bucket: str, *, serve: str = "redirect") -> Iterator[None]:
    s3.client().create_bucket(Bucket=bucket)
    with override_settings(STORAGES=storage_settings(s3, bucket), STUDIO_S3_SERVE=serve):
        yield
