"""google.cloud.storage's client, as far as GCSObjectStore uses it, in memory. ``list_blobs`` matches
``prefix`` as a plain string, as GCS does; ``fail_uploads`` makes that many uploads raise the error the
real client raises once its own retries are spent on a 503; ``refuse`` makes every upload raise it (a
403 or 404, which the real client does not retry)."""

from google.api_core.exceptions import ServiceUnavailable


class FakeBlob:
    def __init__(self, bucket: "FakeBucket", name: str) -> None:
        self.bucket, self.name = bucket, name

    def upload_from_string(self, data: bytes, content_type: str) -> None:
        if self.bucket.refuse is not None:
            raise self.bucket.refuse
        if self.bucket.fail_uploads > 0:
            self.bucket.fail_uploads -= 1
            raise ServiceUnavailable(f"503 POST upload {self.name}: backend unavailable")
        self.bucket.blobs[self.name] = data
        self.bucket.content_types[self.name] = content_type

    def download_as_bytes(self) -> bytes:
        return self.bucket.blobs[self.name]

    def exists(self) -> bool:
        return self.name in self.bucket.blobs


class FakeBucket:
    def __init__(self, fail_uploads: int = 0, refuse: Exception | None = None) -> None:
        self.blobs: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.fail_uploads = fail_uploads
        self.refuse = refuse

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)


class FakeGCSClient:
    def __init__(
        self, bucket: str = "nba-bucket", fail_uploads: int = 0, refuse: Exception | None = None
    ) -> None:
        self.name = bucket
        self.b = FakeBucket(fail_uploads, refuse)

    def bucket(self, name: str) -> FakeBucket:
        assert name == self.name
        return self.b

    def list_blobs(self, bucket: str, prefix: str | None = None) -> list[FakeBlob]:
        return [FakeBlob(self.b, n) for n in self.b.blobs if n.startswith(prefix or "")]
