"""File storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), path-style requests
signed with AWS Signature Version 4 over plain HTTP(S): no SDK needed."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import quote, urlsplit

import httpx

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_v4(*, method: str, url: str, headers: dict[str, str], payload_sha256: str, access_key: str,
            secret_key: str, region: str, at: datetime, service: str = "s3") -> dict[str, str]:
    """`headers` plus x-amz-date, x-amz-content-sha256 and Authorization (every given header is signed)."""
    parts = urlsplit(url)
    amz_date = at.strftime("%Y%m%dT%H%M%SZ")
    day = at.strftime("%Y%m%d")
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed.update({"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256})
    names = sorted(signed)
    query = "&".join(sorted(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, _, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    ))
    canonical = "\n".join([
        method, quote(parts.path or "/", safe="/-_.~"), query,
        "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names), payload_sha256,
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    result = {**headers, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
    result["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                               f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return result


class S3FileStorage:
    """Objects `<bucket>/<key>` at `endpoint` (e.g. https://s3.eu-west-1.amazonaws.com or a MinIO URL)."""

    def __init__(self, *, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout_seconds: float = 30, clock: Callable[[], datetime] | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket, self.access_key, self.secret_key, self.region = bucket, access_key, secret_key, region
        self.timeout = timeout_seconds
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    async def _request(self, method: str, key: str, body: bytes = b"") -> httpx.Response:
        url = f"{self.endpoint}/{self.bucket}/{key}"
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        headers = sign_v4(method=method, url=url, headers={}, payload_sha256=payload, access_key=self.access_key,
                          secret_key=self.secret_key, region=self.region, at=self.clock())
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.request(method, url, headers=headers, content=body or None)

    async def save(self, key: str, data: bytes) -> None:
        (await self._request("PUT", key, data)).raise_for_status()

    async def load(self, key: str) -> bytes:
        response = await self._request("GET", key)
        if response.status_code == 404:
            raise FileNotFoundError(key)
        response.raise_for_status()
        return response.content

    async def delete(self, key: str) -> None:
        response = await self._request("DELETE", key)
        if response.status_code not in (200, 204, 404):
            response.raise_for_status()
