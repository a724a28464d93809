"""Errors in view: every form of the asset register that comes back refused (add, edit,
reclassify, move to another section, the annual review, a relation, the import) opens with
the error summary, which links to each field in error, and keeps what was typed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets.models import AssetRelation

from .pages import page


def chosen(found, name):
    """The value of the option selected in a select of the page."""
    options = found.find("select", name=name).find_all("option")
    return next(o.attrs["value"] for o in options if "selected" in o.attrs)


def summary_links(response):
    """The fields the error summary at the top of the page links to."""
    found = page(response)
    summary = found.find(testid="error-summary")
    assert summary is not None, "no error summary"
    # Before any form: the first thing read after the heading.
    main = found.find("main")
    order = [node for node in main.iter() if node.tag in ("form", "div")]
    assert order.index(summary) < min(order.index(f) for f in main.find_all("form"))
    return [a.attrs["href"] for a in summary.find_all("a")]


def edit_data(asset, **changes):
    data = {
        "name": asset.name,
        "kind": asset.kind,
        "section": asset.section_id,
        "description": asset.description,
        "location": asset.location,
        "tier": asset.tier_id,
        "confidentiality": asset.confidentiality_id,
        "integrity": asset.integrity_id,
        "availability": asset.availability_id,
        "status": asset.status,
        "custodian_username": "",
        "reason": "",
    }
    data.update(changes)
    return data


def test_a_reclassification_without_a_reason_links_from_the_top_to_the_reason(
    as_role, register, catalogue
):
    asset = register["joho_public"]
    c2 = catalogue["levels"][("confidentiality", "2")]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/edit/",
        edit_data(asset, confidentiality=c2.pk, location="本庁舎3階"),
    )
    assert response.status_code == 200
    assert summary_links(response) == ["#id_reason"]
    found = page(response)
    assert found.find("input", name="location").attrs["value"] == "本庁舎3階"
    assert chosen(found, "confidentiality") == str(c2.pk)


def test_a_move_to_a_section_the_chief_does_not_manage_is_summed_up_at_the_top(
    as_role, register, org
):
    asset = register["joho_confidential"]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/edit/", edit_data(asset, section=org["gakko"].pk, name="改名")
    )
    assert response.status_code == 200
    assert summary_links(response) == ["#id_section"]
    assert page(response).find("input", name="name").attrs["value"] == "改名"


def test_a_new_asset_without_a_name_is_summed_up_at_the_top(as_role, catalogue, org):
    response = as_role("chief").post("/assets/new/", {"kind": "system", "section": org["joho"].pk})
    assert response.status_code == 200
    assert "#id_name" in summary_links(response)


def test_a_review_note_too_long_comes_back_with_the_note_and_a_summary(as_role, register):
    asset = register["joho_confidential"]
    note = "確認済み" * 200
    response = as_role("chief").post(f"/assets/{asset.pk}/review/", {"note": note})
    assert response.status_code == 200
    assert summary_links(response) == ["#id_note"]
    assert page(response).find("input", name="note").attrs["value"] == note
    asset.refresh_from_db()
    assert asset.last_reviewed_on is None


@pytest.mark.parametrize("target", ["", "abc", "self", "out_of_sight"])
def test_a_refused_relation_links_from_the_top_to_the_asset_with_the_choice_kept(
    as_role, register, target
):
    source = register["joho_confidential"]
    values = {"self": source.pk, "out_of_sight": register["gakko_confidential"].pk}
    response = as_role("chief").post(
        f"/assets/{source.pk}/relations/",
        {"kind": "stored_on", "target": values.get(target, target), "sanitised": "on"},
    )
    assert response.status_code == 200
    assert summary_links(response) == ["#id_target"]
    found = page(response)
    assert chosen(found, "kind") == "stored_on"
    assert "checked" in found.find("input", name="sanitised").attrs
    # An asset out of sight is not named on the page.
    assert register["gakko_confidential"].name not in response.content.decode()
    assert not AssetRelation.objects.exists()


def test_an_import_file_of_the_wrong_kind_is_summed_up_at_the_top(as_role, catalogue):
    upload = SimpleUploadedFile("assets.txt", b"name\n", content_type="text/plain")
    response = as_role("chief").post("/assets/import/", {"file": upload})
    assert response.status_code == 200
    assert summary_links(response) == ["#id_file"]
