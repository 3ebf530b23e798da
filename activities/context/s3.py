"""The blob store on any S3-compatible service (AWS S3, MinIO, Ceph, R2), over httpx with SigV4.

A minimal client instead of boto3: the store needs four calls (PUT, GET, HEAD object; PUT bucket),
httpx is already a dependency, and the signing is checked against botocore's signer in the tests.
Path-style addressing (`<endpoint>/<bucket>/<key>`) works on every S3-compatible server.
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

import httpx

from activities.context.blobs import BlobNotFound, BlobStat, BlobStore, check_digest
from activities.keyring import KeyRing
from workflows.contracts.base import blob_digest


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(
    method: str, url: str, payload_sha256: str, *, access_key: str, secret_key: str, region: str,
    session_token: str | None = None, service: str = "s3", now: datetime | None = None,
) -> dict[str, str]:
    """Headers (host, x-amz-date, x-amz-content-sha256, authorization) for one signed request."""
    now = now or datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parsed = urlparse(url)
    host = parsed.netloc
    headers = {"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date}
    if session_token:
        headers["x-amz-security-token"] = session_token
    signed = sorted(headers)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(p.split("=", 1) if "=" in p else (p, "") for p in parsed.query.split("&") if p)
    )
    canonical = "\n".join([
        method,
        quote(parsed.path or "/", safe="/-_.~"),
        canonical_query,
        "".join(f"{h}:{headers[h].strip()}\n" for h in signed),
        ";".join(signed),
        payload_sha256,
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return headers


class S3Error(RuntimeError):
    pass


class S3BlobStore(BlobStore):
    """Objects at `<bucket>/<prefix>/sha256/ab/cdef...`; puts skip objects that already exist.

    With keys, an object stored before encryption was turned on stays plaintext (the put skips it);
    reads accept both."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint: str, region: str = "us-east-1",
                 access_key: str = "", secret_key: str = "", session_token: str | None = None,
                 timeout_s: float = 60.0, keys: KeyRing | None = None) -> None:
        if not bucket:
            raise ValueError("S3 blob store needs a bucket: s3://<bucket>/<prefix>?endpoint=...")
        self.bucket, self.prefix, self.region = bucket, prefix.strip("/"), region
        self.endpoint = endpoint.rstrip("/")
        # The credentials come from the worker (AWS_* variables, worker/blobs.py), so the message names them.
        self.access_key, self.secret_key, self.session_token = access_key, secret_key, session_token
        if not self.access_key or not self.secret_key:
            raise ValueError("S3 blob store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self.url = f"s3://{bucket}/{self.prefix}?endpoint={self.endpoint}"
        self.client = httpx.Client(timeout=timeout_s)
        self.keys = keys  # objects are stored encrypted when set (see activities/context/blobs.py)

    def key_of(self, digest: str) -> str:
        hex_part = check_digest(digest)
        return "/".join(p for p in (self.prefix, "sha256", hex_part[:2], hex_part[2:]) if p)

    def _request(self, method: str, path: str, body: bytes = b"") -> httpx.Response:
        url = f"{self.endpoint}/{path}"
        headers = sigv4_headers(method, url, hashlib.sha256(body).hexdigest(), access_key=self.access_key,
                                secret_key=self.secret_key, region=self.region, session_token=self.session_token)
        return self.client.request(method, url, content=body or None, headers=headers)

    def create_bucket(self) -> None:
        """Create the bucket if it is missing (for local servers; production buckets are provisioned)."""
        response = self._request("PUT", self.bucket)
        if response.status_code not in (200, 409):  # 409: it exists already
            raise S3Error(f"create bucket {self.bucket}: HTTP {response.status_code} {response.text[:300]}")

    def put(self, data: bytes) -> str:
        digest = blob_digest(data)
        if self.exists(digest):
            return digest
        response = self._request("PUT", f"{self.bucket}/{self.key_of(digest)}", self._seal(digest, data))
        if response.status_code != 200:
            raise S3Error(f"put {digest}: HTTP {response.status_code} {response.text[:300]}")
        return digest

    def _read(self, digest: str) -> bytes:
        response = self._request("GET", f"{self.bucket}/{self.key_of(digest)}")
        if response.status_code == 404:
            raise BlobNotFound(f"no blob {digest} in {self.url}")
        if response.status_code != 200:
            raise S3Error(f"get {digest}: HTTP {response.status_code} {response.text[:300]}")
        return response.content

    def stat(self, digest: str) -> BlobStat | None:
        response = self._request("HEAD", f"{self.bucket}/{self.key_of(digest)}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise S3Error(f"head {digest}: HTTP {response.status_code}")
        return BlobStat(digest, int(response.headers.get("content-length", 0)))
