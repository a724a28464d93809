"""A real S3-compatible server for the evidence store's tests: moto's server mode, run as a
process of its own (`python -m moto.server`) on 127.0.0.1 and a free port, one per test
process, with the bucket the portal is given. The portal talks to it over HTTP with the same
backend and options a city's MinIO would get (isms.settings.base.evidence_s3_storage).

`s3_server` starts it once per test session; `s3_evidence_store` points STORAGES["evidence"]
at it for one test, with the bucket emptied first.
"""

import subprocess
import sys
import time
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from .oidc_server import free_port

BUCKET = "isms-evidence"
ACCESS_KEY = "test-only-access-key"
SECRET_KEY = "test-only-secret-key-0123456789"
REGION = "ap-northeast-1"


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen
    bucket: str = BUCKET

    def client(self, **config):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def keys(self):
        """The keys of the objects in the bucket."""
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def read(self, key):
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def empty(self):
        client = self.client()
        for key in self.keys():
            client.delete_object(Bucket=self.bucket, Key=key)

    def storage_settings(self):
        """STORAGES["evidence"] as EVIDENCE_S3_* would set it (isms/settings/base.py)."""
        from isms.settings.base import evidence_s3_storage

        return evidence_s3_storage(
            bucket=self.bucket,
            endpoint_url=self.endpoint_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
        )

    def environment(self):
        """The EVIDENCE_S3_* variables a deployment would set for this server."""
        return {
            "EVIDENCE_S3_BUCKET": self.bucket,
            "EVIDENCE_S3_ENDPOINT_URL": self.endpoint_url,
            "EVIDENCE_S3_ACCESS_KEY": ACCESS_KEY,
            "EVIDENCE_S3_SECRET_KEY": SECRET_KEY,
            "EVIDENCE_S3_REGION": REGION,
        }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("s3-server") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=output,
        )
    server = S3Server(endpoint_url=f"http://127.0.0.1:{port}", process=process)
    try:
        # One quick try at a time while it starts (no connection yet); the bucket is made by
        # its first answer, and a refusal is an error at once.
        client = server.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the S3 server stopped: {log.read_text()}")
            try:
                client.create_bucket(
                    Bucket=server.bucket,
                    CreateBucketConfiguration={"LocationConstraint": REGION},
                )
                break
            except BotoCoreError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the S3 server did not start: {log.read_text()}")
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_evidence_store(settings, s3_server):
    """The evidence store on the S3 server, as EVIDENCE_S3_BUCKET makes it, with an empty
    bucket."""
    s3_server.empty()
    settings.STORAGES = {**settings.STORAGES, "evidence": s3_server.storage_settings()}
    return s3_server
