"""The evidence store's one setting (docs/evidence-store.md): files on the local media folder
by default, or in an S3-compatible bucket that several web servers share, here a real moto
server on loopback (tests/s3_server.py). Either way a file is named by its hash, never by its
uploaded name, and reaches people only through the portal's permission-checked download.

The rules on which files are accepted (isms.evidence.check_file) are tested through the
pages and the API in test_audit_access.py and test_audit_api.py.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from audits import services
from audits.models import Evidence

from .audit_helpers import PDF, open_cycle, record_finding, upload

OTHER_PDF = b"%PDF-1.7\n% a second scan of the register\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """The local media folder of this test, to show what is and is not written there."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def finding(org, people):
    """A finding on 総務部, whose head may attach evidence and the other head may not see it."""
    cycle = open_cycle(people, [org["somu"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return record_finding(cycle, org["somu"], by=people["auditor"])


def attach_on_the_page(client, finding, uploaded):
    response = client.post(f"/audits/findings/{finding.pk}/evidence/", {"file": uploaded})
    assert response.status_code == 302
    return Evidence.objects.get(finding=finding, original_name=uploaded.name)


def downloaded(response):
    return b"".join(response.streaming_content)


def test_evidence_uploaded_on_a_finding_page_is_an_object_in_the_bucket_not_a_local_file(
    s3_evidence_store, finding, as_role, media
):
    evidence = attach_on_the_page(as_role("head"), finding, upload("持出し簿.pdf"))

    assert s3_evidence_store.keys() == [evidence.file.name]
    assert s3_evidence_store.read(evidence.file.name) == PDF
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert not media.exists()


def test_the_object_in_the_bucket_is_named_by_the_files_hash_not_by_its_uploaded_name(
    s3_evidence_store, finding, people
):
    evidence = services.attach_evidence(
        upload("秘密の台帳.pdf"), by=people["head"], finding=finding
    )

    [key] = s3_evidence_store.keys()
    assert key.startswith(f"evidence/{evidence.sha256[:2]}/{evidence.sha256}-")
    assert "秘密" not in key
    assert evidence.original_name == "秘密の台帳.pdf"


def test_the_same_file_uploaded_twice_is_kept_twice_and_each_downloads(
    s3_evidence_store, finding, people, as_role
):
    first = services.attach_evidence(upload("first.pdf"), by=people["head"], finding=finding)
    second = services.attach_evidence(upload("second.pdf"), by=people["head"], finding=finding)

    assert first.file.name != second.file.name
    assert sorted(s3_evidence_store.keys()) == sorted([first.file.name, second.file.name])
    for evidence in (first, second):
        assert downloaded(as_role("head").get(f"/audits/evidence/{evidence.pk}/")) == PDF


@pytest.mark.parametrize(
    "role, status", [("head", 200), ("auditor", 200), ("other_head", 404), ("staff", 404)]
)
def test_evidence_in_the_bucket_downloads_through_the_portal_only_for_people_allowed(
    s3_evidence_store, finding, people, as_role, role, status
):
    evidence = services.attach_evidence(
        upload("点検記録.pdf", OTHER_PDF), by=people["head"], finding=finding
    )

    response = as_role(role).get(f"/audits/evidence/{evidence.pk}/")

    assert response.status_code == status
    if status == 200:
        assert downloaded(response) == OTHER_PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        # The portal streams the bytes itself: it never sends the person to the store.
        assert s3_evidence_store.endpoint_url not in str(response.headers)


def test_another_web_server_given_only_the_evidence_s3_variables_reads_the_same_file(
    s3_evidence_store, finding, people
):
    evidence = services.attach_evidence(upload(), by=people["head"], finding=finding)
    script = (
        "import hashlib, sys, django; django.setup()\n"
        "from audits.models import Evidence\n"
        "storage = Evidence._meta.get_field('file').storage\n"
        "with storage.open(sys.argv[1], 'rb') as file:\n"
        "    digest = hashlib.sha256(file.read()).hexdigest()\n"
        "print(type(storage._wrapped).__name__, digest)\n"
    )

    other_server = subprocess.run(
        [sys.executable, "-c", script, evidence.file.name],
        cwd=Path(django_settings.BASE_DIR),
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "isms.settings.test",
            **s3_evidence_store.environment(),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert other_server.returncode == 0, other_server.stderr
    assert other_server.stdout.split() == ["S3Storage", evidence.sha256]


def test_without_a_bucket_evidence_is_stored_in_the_local_media_folder(
    finding, people, as_role, media
):
    evidence = services.attach_evidence(upload("持出し簿.pdf"), by=people["head"], finding=finding)

    stored = Path(evidence.file.path)
    assert stored.is_relative_to(media / "evidence")
    assert stored.read_bytes() == PDF
    assert "持出し簿" not in stored.name
    assert downloaded(as_role("head").get(f"/audits/evidence/{evidence.pk}/")) == PDF
    assert as_role("other_head").get(f"/audits/evidence/{evidence.pk}/").status_code == 404
