"""The Django admin of the asset register and the audits: the programme admin switches the
classification scheme there, and can neither rewrite a classification without its history
nor remove the history or the evidence of an audit; other staff get no admin at all."""

import pytest

from assets.models import AssetChange, ClassificationScheme
from assets.services import create_asset
from audits import services
from audits.models import Result, SubmissionStatus
from isms.models import AuditEvent

from .audit_helpers import PDF, answer_all, inspection, open_cycle, record_finding, upload


@pytest.fixture
def superuser(people):
    user = people["admin"]
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def asset(catalogue, org, people):
    levels = catalogue["levels"]
    return create_asset(
        by=people["chief"],
        name="住民情報データ",
        kind="information",
        section=org["joho"],
        confidentiality=levels[("confidentiality", "2")],
        integrity=levels[("integrity", "1")],
        availability=levels[("availability", "1")],
        tier=catalogue["tiers"]["lgwan"],
    )


@pytest.fixture
def evidence(org, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cycle = open_cycle(people, [org["somu"]])
    finding = record_finding(cycle, org["somu"], by=people["admin"])
    return services.attach_evidence(upload(), by=people["admin"], finding=finding)


def test_the_programme_admin_switches_the_classification_scheme_in_the_admin(
    client, superuser, catalogue, as_role
):
    new = ClassificationScheme.objects.get(code="2024")
    client.force_login(superuser)
    response = client.post(
        "/admin/assets/classificationscheme/",
        {"action": "activate", "_selected_action": [new.pk]},
    )
    assert response.status_code == 302
    assert ClassificationScheme.active() == new
    assert not ClassificationScheme.objects.get(code="classic").is_active
    assert AuditEvent.objects.filter(action="asset.scheme_activated", actor=superuser).exists()
    listing = client.get("/admin/assets/classificationscheme/").content.decode()
    assert new.name in listing
    # The register's form now offers the levels of the new scheme.
    form = as_role("chief").get("/assets/new/").content.decode()
    assert "機密性3A" in form


def test_the_active_flag_of_a_scheme_cannot_be_edited_by_hand(client, superuser, catalogue):
    classic = ClassificationScheme.objects.get(code="classic")
    new = ClassificationScheme.objects.get(code="2024")
    client.force_login(superuser)
    client.post(
        f"/admin/assets/classificationscheme/{new.pk}/change/",
        {"name": new.name, "is_active": "on"},
    )
    assert ClassificationScheme.active() == classic


def test_the_admin_cannot_change_an_assets_classification_without_its_history(
    client, superuser, asset, catalogue
):
    client.force_login(superuser)
    levels = catalogue["levels"]
    assert client.get(f"/admin/assets/asset/{asset.pk}/change/").status_code == 200  # to read
    response = client.post(
        f"/admin/assets/asset/{asset.pk}/change/",
        {"name": asset.name, "confidentiality": levels[("confidentiality", "3")].pk},
    )
    assert response.status_code == 403
    asset.refresh_from_db()
    assert asset.confidentiality == levels[("confidentiality", "2")]
    assert AssetChange.objects.filter(asset=asset).count() == 1  # "created" only
    assert client.get("/admin/assets/asset/add/").status_code == 403


def test_the_admin_cannot_delete_an_assets_history(client, superuser, asset):
    client.force_login(superuser)
    change = AssetChange.objects.get(asset=asset)
    response = client.post(f"/admin/assets/assetchange/{change.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert client.post(f"/admin/assets/asset/{asset.pk}/delete/", {"post": "yes"}).status_code == (
        403
    )
    assert AssetChange.objects.filter(pk=change.pk).exists()


def test_the_admin_cannot_delete_or_replace_audit_evidence(client, superuser, evidence):
    client.force_login(superuser)
    assert client.get(f"/admin/audits/evidence/{evidence.pk}/change/").status_code == 200
    response = client.post(f"/admin/audits/evidence/{evidence.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = client.post(
        f"/admin/audits/evidence/{evidence.pk}/change/", {"original_name": "差し替え.pdf"}
    )
    assert response.status_code == 403
    evidence.refresh_from_db()
    assert evidence.original_name == "evidence.pdf"
    assert evidence.file.read() == PDF


def test_submitted_answers_and_findings_cannot_be_edited_in_the_admin(
    client, superuser, org, people
):
    cycle = open_cycle(people, [org["somu"]])
    somu = answer_all(inspection(cycle, org["somu"]), by=people["head"])
    services.submit(somu, by=people["head"])
    answer = somu.answers.first()
    finding = record_finding(cycle, org["somu"], by=people["admin"])
    client.force_login(superuser)
    response = client.post(
        f"/admin/audits/answer/{answer.pk}/change/", {"result": Result.NOT_COMPLIANT}
    )
    assert response.status_code == 403
    response = client.post(f"/admin/audits/finding/{finding.pk}/change/", {"title": "書換え"})
    assert response.status_code == 403
    assert client.post(f"/admin/audits/cycle/{cycle.pk}/delete/", {"post": "yes"}).status_code == (
        403
    )
    answer.refresh_from_db()
    finding.refresh_from_db()
    somu.refresh_from_db()
    assert (answer.result, finding.title) == (Result.COMPLIANT, "持出し記録の不備")
    assert somu.status == SubmissionStatus.SUBMITTED


def test_a_checklist_used_by_a_cycle_cannot_be_edited_in_the_admin(client, superuser, org, people):
    cycle = open_cycle(people, [org["somu"]])
    client.force_login(superuser)
    checklist = cycle.checklist
    response = client.post(
        f"/admin/audits/checklistversion/{checklist.pk}/change/",
        {"name": "書換え", "version": checklist.version},
    )
    assert response.status_code == 403
    checklist.refresh_from_db()
    assert checklist.name != "書換え"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/assets/classificationscheme/",
        "/admin/assets/asset/",
        "/admin/assets/assetchange/",
        "/admin/audits/finding/",
        "/admin/audits/evidence/",
        "/admin/audits/cycle/",
    ],
)
def test_staff_who_are_not_the_programme_admin_get_no_admin_access(client, people, path):
    staff = people["ciso"]
    staff.is_staff = True  # may log in to the admin, holds no model permission
    staff.save()
    client.force_login(staff)
    assert client.get(path).status_code == 403
    client.force_login(people["head"])  # not staff at all
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
