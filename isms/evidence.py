"""The evidence store, shared by every module that keeps files as proof (audits, incidents):
which files are accepted, how they are stored (isms.models.evidence.EvidenceFile, on the
STORAGES["evidence"] backend) and how they are handed out. Whether a person may download a
file is the owning app's decision; download_response() is called only after it."""

import hashlib
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext as _

from .models.evidence import EvidenceFile

E = TypeVar("E", bound=EvidenceFile)

# Accepted types and the first bytes their content must start with.
EVIDENCE_TYPES: dict[str, tuple[str, list[bytes] | None]] = {
    ".pdf": ("application/pdf", [b"%PDF"]),
    ".png": ("image/png", [b"\x89PNG\r\n\x1a\n"]),
    ".jpg": ("image/jpeg", [b"\xff\xd8\xff"]),
    ".jpeg": ("image/jpeg", [b"\xff\xd8\xff"]),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", [b"PK"]),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", [b"PK"]),
    ".txt": ("text/plain", None),
    ".csv": ("text/csv", None),
}


def check_file(uploaded: UploadedFile) -> tuple[str, str]:
    """(content type, sha256) of an acceptable file, or ValidationError saying why not."""
    name = (uploaded.name or "").lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    if extension not in EVIDENCE_TYPES:
        raise ValidationError(
            {"file": _("Accepted files: %(types)s.") % {"types": ", ".join(sorted(EVIDENCE_TYPES))}}
        )
    if uploaded.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("The file is larger than %(size)s MB.")
                % {"size": settings.EVIDENCE_MAX_BYTES // (1024 * 1024)}
            }
        )
    content_type, signatures = EVIDENCE_TYPES[extension]
    digest = hashlib.sha256()
    head = b""
    for chunk in uploaded.chunks():
        if not head:
            head = chunk[:16]
        digest.update(chunk)
    uploaded.seek(0)
    if signatures and not any(head.startswith(s) for s in signatures):
        raise ValidationError({"file": _("The file's content does not match its type.")})
    if signatures is None and b"\x00" in head:
        raise ValidationError({"file": _("The file's content does not match its type.")})
    return content_type, digest.hexdigest()


def store(evidence: E, uploaded: UploadedFile) -> E:
    """Check `uploaded`, fill the file's fields of `evidence` (an unsaved row whose links
    the caller has set), write the file to the store and save the row. Call it inside the
    transaction that records the action in the audit trail."""
    content_type, sha256 = check_file(uploaded)
    # Set on every uploaded file; check_file() compared the size with the limit.
    assert uploaded.name is not None and uploaded.size is not None
    evidence.original_name = uploaded.name[:200]
    evidence.content_type = content_type
    evidence.size = uploaded.size
    evidence.sha256 = sha256
    evidence.file.save("evidence", uploaded, save=False)
    evidence.save()
    return evidence


def download_response(evidence: EvidenceFile) -> FileResponse:
    """The file as a download under its original name. The caller has checked that the
    person may read the record the file backs."""
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
