"""The file storages the messaging tests run on: the local folder and a real S3-compatible server."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from infrastructure.file_storage import FileSettings, LocalFileStorage
from infrastructure.platform import Platform
from tests.messaging.s3_server import REGION, S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.close()


@pytest.fixture
def no_outside_aws(monkeypatch, tmp_path) -> None:
    """Nothing from this machine's AWS set-up reaches a test, and the SDK never asks an
    instance-metadata address (the credential chain's last resort) for credentials."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


class StoredKeys:
    """What a storage holds, looked at apart from our storage code; `platform`: the test's platform on it."""

    def __init__(self, platform: Platform, folder: Path | None = None, server: S3Server | None = None,
                 bucket: str = "") -> None:
        self.platform, self.folder, self.server, self.bucket = platform, folder, server, bucket

    def keys(self) -> set[str]:
        if self.server is not None:
            listed = self.server.client().list_objects_v2(Bucket=self.bucket)
            return {item["Key"] for item in listed.get("Contents", [])}
        return {f.name for f in self.folder.rglob("*") if f.is_file()} if self.folder.exists() else set()


@pytest.fixture(params=["local", "s3"])
async def storage(request, tmp_path, platform: Platform) -> AsyncIterator[StoredKeys]:
    """The test's platform with its files on the local folder, then on a fresh bucket of the S3 server."""
    settings = dict(max_upload_bytes=1024, url_secret=b"test-secret", url_ttl_seconds=60)
    if request.param == "local":
        files = FileSettings(LocalFileStorage(tmp_path / "files"), **settings)  # type: ignore[arg-type]
        yield StoredKeys(replace(platform, files=files), folder=tmp_path / "files")
    else:
        from infrastructure.s3_storage import S3FileStorage

        request.getfixturevalue("no_outside_aws")
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = server.new_bucket()
        async with S3FileStorage.connect(bucket=bucket, endpoint_url=server.endpoint, region=REGION,
                                         access_key_id=server.access_key_id,
                                         secret_access_key=server.secret_access_key) as s3:
            files = FileSettings(s3, **settings)  # type: ignore[arg-type]
            yield StoredKeys(replace(platform, files=files), server=server, bucket=bucket)
