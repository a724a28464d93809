"""People pickers: whoever is named on an object (the owner of a corrective action, the
custodian of an asset) must be someone allowed to read it. One rule (isms.pickers), checked
by the service that makes the change, so the pages, the API and the import give the same
answer, and the picker never lists anyone of another department."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from assets import services as asset_services
from assets import transfer
from assets.models import Asset
from audits import services as audit_services
from audits.models import CorrectiveAction
from isms.pickers import NOT_NAMEABLE

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES
from .pages import is_login_redirect, page

DUE = datetime.date(2025, 12, 26)
# Every persona, and the anonymous visitor, plus the plain staff of the other sections.
PERSONAS = [*ROLES, "staff_somuka", "other_staff"]
SIGNED_IN = [role for role in PERSONAS if role != "anonymous"]


def refusal(username):
    """What every picker says about a name that may not be chosen, in Japanese."""
    from django.utils import translation

    with translation.override("ja"):
        return str(NOT_NAMEABLE % {"name": username})


def picker_choices(response, name):
    """The people a picker offers: the options of its <datalist> (a user-name box) or of
    its <select> (isms.pickers.PersonPicker)."""
    choices = page(response).find(testid=f"{name}-choices")
    assert choices is not None, "the form offers no list of people"
    return {option.attrs["value"] for option in choices.find_all("option") if option.attrs["value"]}


def kept_value(control):
    if control.tag == "select":
        chosen = [o for o in control.find_all("option") if "selected" in o.attrs]
        return chosen[0].attrs["value"] if chosen else None
    return control.attrs.get("value")


def field_errors(response):
    """{field name: (value kept, error text)} of the form fields shown with an error."""
    found = {}
    for div in page(response).find_all("div", cls="has-error"):
        for control in div.iter():
            if control.tag in {"input", "select", "textarea"} and control.attrs.get("name"):
                found[control.attrs["name"]] = (kept_value(control), div.text)
    return found


# --- the owner of a corrective action -----------------------------------------------------

# Who reads 総務部's findings: its head, the chief of one of its sections, and the CISO's
# office. Its plain staff, the auditor (who reads only as the assigned auditor, not as an
# owner) and everyone of 教育部 may not be named.
MAY_OWN = {"chief", "head", "ciso", "admin"}


@pytest.fixture
def finding(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return record_finding(cycle, org["somu"], by=people["auditor"])


@pytest.mark.parametrize("candidate", SIGNED_IN)
def test_only_someone_who_reads_the_finding_can_own_its_corrective_action(
    finding, people, candidate
):
    owner = people[candidate]
    if candidate in MAY_OWN:
        action = audit_services.add_corrective_action(
            finding, by=people["head"], owner=owner, plan="連絡網を更新する", due_on=DUE
        )
        assert action.owner == owner
        return
    with pytest.raises(ValidationError) as refused:
        audit_services.add_corrective_action(
            finding, by=people["head"], owner=owner, plan="連絡網を更新する", due_on=DUE
        )
    assert refused.value.message_dict == {"owner": [str(NOT_NAMEABLE % {"name": owner.username})]}
    assert not CorrectiveAction.objects.exists()


def test_an_inactive_owner_is_refused_like_an_outsider(finding, people):
    people["chief"].is_active = False
    people["chief"].save()
    with pytest.raises(ValidationError) as refused:
        audit_services.add_corrective_action(
            finding, by=people["head"], owner=people["chief"], plan="計画", due_on=DUE
        )
    assert list(refused.value.message_dict) == ["owner"]


# (status of the finding page, does it offer the corrective action form)
FINDING_PAGE = {
    "staff": (403, False),
    "staff_somuka": (403, False),
    "chief": (200, True),
    "head": (200, True),
    "other_head": (404, False),
    "other_staff": (403, False),
    "auditor": (200, False),
    "ciso": (200, False),
    "admin": (200, False),
}


@pytest.mark.parametrize("role", PERSONAS)
def test_the_owner_picker_lists_only_people_who_read_the_finding(as_role, finding, people, role):
    url = f"/audits/findings/{finding.pk}/"
    response = as_role(role).get(url)
    if role == "anonymous":
        assert is_login_redirect(response, url)
        return
    status, offers_form = FINDING_PAGE[role]
    assert response.status_code == status
    if not offers_form:
        assert page(response).find("datalist", testid="owner-choices") is None
        return
    assert picker_choices(response, "owner") == {people[r].username for r in MAY_OWN}


def test_an_owner_of_another_department_is_a_field_error_on_the_page_with_the_input_kept(
    as_role, finding
):
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/corrective-action/",
        {"owner": "head_kyoiku", "plan": "教育部に任せる", "due_on": "2025-12-26"},
    )
    assert response.status_code == 200
    errors = field_errors(response)
    assert set(errors) == {"owner"}
    value, text = errors["owner"]
    assert value == "head_kyoiku"
    assert refusal("head_kyoiku") in text
    assert "教育部に任せる" in page(response).find("textarea", name="plan").text
    assert not CorrectiveAction.objects.exists()


def test_an_owner_of_the_department_is_recorded_from_the_page(as_role, finding, people):
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/corrective-action/",
        {"owner": "chief_joho", "plan": "連絡網を更新する", "due_on": "2025-12-26"},
    )
    assert response.status_code == 302
    assert CorrectiveAction.objects.get().owner == people["chief"]


@pytest.mark.parametrize("username", ["head_kyoiku", "staff_joho", "auditor", "nobody"])
def test_the_api_refuses_an_owner_who_may_not_read_the_finding_with_one_message(
    api_as, finding, username
):
    response = api_as("head").post(
        f"/api/findings/{finding.pk}/corrective-actions/",
        {"owner": username, "plan": "計画", "due_on": "2025-12-26"},
        format="json",
    )
    assert response.status_code == 400, response.content
    # An unknown name and a name of another department read the same.
    assert response.json() == {"owner": [refusal(username)]}
    assert not CorrectiveAction.objects.exists()


# --- the custodian of an asset ------------------------------------------------------------

# Who may keep an asset of 情報政策課 (総務部): the people of 総務部, whatever their section,
# and the roles that read the whole register. Nobody of 教育部.
MAY_KEEP = {"staff", "staff_somuka", "chief", "head", "auditor", "ciso", "admin"}


def new_asset(catalogue, org, **fields):
    levels = catalogue["levels"]
    return dict(
        name="庁内ファイルサーバ",
        kind="system",
        section=org["joho"],
        tier=catalogue["tiers"]["lgwan"],
        confidentiality=levels[("confidentiality", "2")],
        integrity=levels[("integrity", "1")],
        availability=levels[("availability", "1")],
        **fields,
    )


@pytest.mark.parametrize("candidate", SIGNED_IN)
def test_only_someone_of_the_assets_department_or_a_register_reader_can_keep_it(
    catalogue, org, people, candidate
):
    custodian = people[candidate]
    fields = new_asset(catalogue, org, custodian=custodian)
    if candidate in MAY_KEEP:
        asset = asset_services.create_asset(by=people["chief"], **fields)
        assert asset.custodian == custodian
        return
    with pytest.raises(ValidationError) as refused:
        asset_services.create_asset(by=people["chief"], **fields)
    assert list(refused.value.message_dict) == ["custodian"]
    assert not Asset.objects.exists()


def test_moving_an_asset_to_another_department_keeps_no_custodian_who_may_not_read_it(
    make_asset, people
):
    asset = make_asset("joho", c="2", custodian=people["staff"])
    with pytest.raises(ValidationError) as refused:
        asset_services.update_asset(asset, by=people["chief"], custodian=people["other_staff"])
    assert list(refused.value.message_dict) == ["custodian"]
    asset.refresh_from_db()
    assert asset.custodian == people["staff"]


# (status of the new-asset page, the people of the department its picker offers)
SOMU_PEOPLE = {"staff", "staff_somuka", "chief", "head"}
KYOIKU_PEOPLE = {"other_head", "other_staff"}
READERS = {"auditor", "ciso", "admin"}
NEW_ASSET_PAGE = {
    "staff": (403, None),
    "staff_somuka": (403, None),
    "chief": (200, SOMU_PEOPLE | READERS),
    "head": (200, SOMU_PEOPLE | READERS),
    "other_head": (200, KYOIKU_PEOPLE | READERS),
    "other_staff": (403, None),
    "auditor": (403, None),
    "ciso": (403, None),
    "admin": (403, None),
}


@pytest.mark.parametrize("role", PERSONAS)
def test_the_custodian_picker_lists_only_people_of_the_managers_departments(
    as_role, catalogue, people, role
):
    response = as_role(role).get("/assets/new/")
    if role == "anonymous":
        assert is_login_redirect(response, "/assets/new/")
        return
    status, offered = NEW_ASSET_PAGE[role]
    assert response.status_code == status
    if offered is not None:
        assert picker_choices(response, "custodian_username") == {
            people[r].username for r in offered
        }


@pytest.mark.parametrize("role", ["chief", "other_head"])
def test_the_custodian_picker_is_a_select_not_a_user_name_to_type(as_role, catalogue, role):
    form = page(as_role(role).get("/assets/new/")).find("form", testid="asset-form")
    assert form.find("select", name="custodian_username") is not None
    assert form.find("input", name="custodian_username") is None


@pytest.mark.parametrize(
    ("role", "offered"), [("chief", SOMU_PEOPLE | READERS), ("other_head", KYOIKU_PEOPLE | READERS)]
)
def test_a_long_custodian_list_is_searched_among_the_same_people_only(
    as_role, catalogue, people, monkeypatch, role, offered
):
    """Beyond the select's length the picker searches: a search for every user name finds
    the same people as the select, never anyone of the other department."""
    monkeypatch.setattr("isms.pickers.PICKER_SELECT_UP_TO", 2)
    client = as_role(role)
    form = page(client.get("/assets/new/")).find("form", testid="asset-form")
    assert form.find("input", type="search", name="custodian_username__q") is not None
    found = set()
    for term in ("_", "auditor", "ciso", "admin"):
        results = page(client.get("/assets/pickers/custodians/", {"q": term}))
        found |= {radio.attrs["value"] for radio in results.find_all("input", type="radio")}
    assert found - {""} == {people[r].username for r in offered}


def test_a_custodian_of_another_department_is_a_field_error_on_the_page_with_the_input_kept(
    as_role, catalogue, org
):
    levels = catalogue["levels"]
    response = as_role("chief").post(
        "/assets/new/",
        {
            "name": "庁内ファイルサーバ",
            "kind": "system",
            "section": org["joho"].pk,
            "tier": catalogue["tiers"]["lgwan"].pk,
            "confidentiality": levels[("confidentiality", "2")].pk,
            "integrity": levels[("integrity", "1")].pk,
            "availability": levels[("availability", "1")].pk,
            "custodian_username": "staff_kyoiku",
        },
    )
    assert response.status_code == 200
    errors = field_errors(response)
    assert set(errors) == {"custodian_username"}
    value, text = errors["custodian_username"]
    assert value == "staff_kyoiku"
    assert refusal("staff_kyoiku") in text
    assert page(response).find("input", name="name").attrs["value"] == "庁内ファイルサーバ"
    assert not Asset.objects.exists()


def api_asset(**changes):
    data = {
        "name": "庁内ファイルサーバ",
        "kind": "system",
        "section": "joho",
        "tier": "lgwan",
        "confidentiality": "2",
        "integrity": "1",
        "availability": "1",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("username", ["staff_kyoiku", "head_kyoiku", "nobody"])
def test_the_api_refuses_a_custodian_of_another_department_like_an_unknown_name(
    api_as, catalogue, username
):
    response = api_as("chief").post("/api/assets/", api_asset(custodian=username), format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"custodian": [refusal(username)]}
    assert not Asset.objects.exists()


def test_the_api_refuses_to_hand_an_existing_asset_to_a_custodian_of_another_department(
    api_as, make_asset, people
):
    asset = make_asset("joho", c="2", custodian=people["staff"])
    response = api_as("chief").patch(
        f"/api/assets/{asset.pk}/", {"custodian": "staff_kyoiku"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"custodian": [refusal("staff_kyoiku")]}
    asset.refresh_from_db()
    assert asset.custodian == people["staff"]


def test_the_api_names_a_custodian_of_another_section_of_the_department(api_as, catalogue, people):
    response = api_as("chief").post(
        "/api/assets/", api_asset(custodian="staff_somuka"), format="json"
    )
    assert response.status_code == 201, response.content
    assert Asset.objects.get().custodian == people["staff_somuka"]


def import_file(*rows):
    header = "name,kind,section,confidentiality,integrity,availability,tier,custodian"
    lines = [header] + [f"資産{n},system,joho,2,1,1,lgwan,{who}" for n, who in enumerate(rows)]
    return SimpleUploadedFile("assets.csv", "\n".join(lines).encode(), content_type="text/csv")


def test_the_import_refuses_a_custodian_of_another_department_like_an_unknown_name(
    catalogue, people
):
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.import_assets(
            import_file("staff_somuka", "staff_kyoiku", "nobody", "auditor"), by=people["chief"]
        )
    assert [e.as_dict() for e in rejected.value.errors] == [
        {"row": 3, "column": "custodian", "message": str(NOT_NAMEABLE % {"name": "staff_kyoiku"})},
        {"row": 4, "column": "custodian", "message": str(NOT_NAMEABLE % {"name": "nobody"})},
    ]
    assert not Asset.objects.exists()


def test_the_import_page_shows_the_custodian_refusal_on_its_row(
    as_role, catalogue, django_capture_on_commit_callbacks, monkeypatch, settings, tmp_path
):
    from isms.celery import app as celery_app

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    # The import job runs when the upload commits; its page lists the refused rows.
    client = as_role("chief")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/assets/import/", {"file": import_file("head_kyoiku")})
    response = client.get(response["Location"])
    assert response.status_code == 200
    table = page(response).find(testid="import-errors")
    rows = [tuple(td.text for td in tr.find_all("td")) for tr in table.find("tbody").find_all("tr")]
    assert rows == [("2", "custodian", refusal("head_kyoiku"))]
    assert not Asset.objects.exists()


# --- forms built from the models (the Django admin's) -------------------------------------


def test_a_model_form_as_the_admin_builds_it_refuses_a_custodian_of_another_department(
    make_asset, people
):
    from django.forms import modelform_factory

    asset = make_asset("joho", c="2", custodian=people["staff"])
    asset = Asset.objects.get(pk=asset.pk)
    AdminForm = modelform_factory(Asset, fields=["custodian", "section", "name"])
    form = AdminForm(
        {"custodian": people["other_staff"].pk, "section": asset.section_id, "name": asset.name},
        instance=asset,
    )
    assert not form.is_valid()
    assert list(form.errors) == ["custodian"]
    # An edit that keeps the custodian is not held up by the rule.
    kept = AdminForm(
        {"custodian": people["staff"].pk, "section": asset.section_id, "name": "改名"},
        instance=Asset.objects.get(pk=asset.pk),
    )
    assert kept.is_valid(), kept.errors


def test_a_model_form_as_the_admin_builds_it_refuses_an_owner_who_may_not_read_the_finding(
    finding, people
):
    from django.forms import modelform_factory

    AdminForm = modelform_factory(CorrectiveAction, fields=["finding", "owner", "plan", "due_on"])
    data = {"finding": finding.pk, "plan": "計画", "due_on": "2025-12-26"}
    refused = AdminForm({**data, "owner": people["other_head"].pk})
    assert not refused.is_valid()
    assert list(refused.errors) == ["owner"]
    assert AdminForm({**data, "owner": people["chief"].pk}).is_valid()
