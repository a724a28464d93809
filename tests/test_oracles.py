"""Small oracles: a document, a filter value or an id the caller may not see answers exactly
like one that does not exist; the training status lists only the courses the viewer may
follow; an asset's history shows each past entry only to those who could read the asset at
that entry's classification."""

import datetime
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from assets import services as asset_services
from assets.models import AssetChange
from audits import services as audit_services
from isms import policy_actions
from isms.eras import fiscal_year
from training import services as courses
from training.models import Course

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES
from .pages import page

UNKNOWN_ID = 10**9


def same_answer(a, b, ids=()):
    """Status, where a redirect goes, and the JSON body of an API answer, with the ids that
    were sent (an error may repeat what was sent) written as "ID"."""

    def key(response):
        location = response.get("Location", "")
        body = None
        if response.get("Content-Type", "").startswith("application/json"):
            body = response.content.decode()
            for sent in ids:
                body = body.replace(f'\\"{sent}\\"', "ID").replace(str(sent), "ID")
        return response.status_code, location, body

    return key(a) == key(b)


# --- restricted documents -----------------------------------------------------------------

# Who reads the 総務部 procedure: its audience (総務部) and the policy readers.
READS_PROCEDURE = {"staff", "chief", "head", "auditor", "ciso", "admin"}
PROCEDURE_PATHS = [
    "/policies/{code}/",
    "/policies/{code}/revisions/1/",
    "/policies/{code}/diff/?from=1&to=1",
]


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
@pytest.mark.parametrize("role", ROLES)
def test_a_restricted_document_answers_like_an_unknown_code(as_role, documents, role, path):
    client = as_role(role)
    restricted = client.get(path.format(code="procedure"))
    if role in READS_PROCEDURE:
        assert restricted.status_code == 200
        return
    unknown = client.get(path.format(code="no-such-document"))
    expected = 302 if role == "anonymous" else 404
    assert restricted.status_code == unknown.status_code == expected
    if role == "anonymous":
        # Both go to the login page and come back to what was asked for.
        assert restricted["Location"].startswith("/accounts/login/?next=/policies/procedure/")
        assert unknown["Location"].startswith("/accounts/login/?next=/policies/no-such-document/")


def test_the_public_basic_policy_stays_open_to_anonymous_visitors(client, documents):
    assert client.get("/policies/basic-policy/").status_code == 200


# --- ids in filters and fields ------------------------------------------------------------


@pytest.fixture
def audit_world(org, people):
    """A self-inspection of 総務部 and 教育部 with an answer and a finding in each; the
    auditor audits 総務部 only. Another cycle covers 教育部 only."""
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    kyoiku_only = open_cycle(people, [org["kyoiku"]], name="教育部の臨時点検")
    inspections = {i.department.code: i for i in cycle.inspections.select_related("department")}
    item = cycle.checklist.items.order_by("pk").first()
    audit_services.save_answers(
        inspections["kyoiku"], {item.pk: ("compliant", "")}, by=people["other_head"]
    )
    record_finding(cycle, org["kyoiku"], by=people["admin"], title="教育部の所見")
    return {"kyoiku_cycle": kyoiku_only, "kyoiku_inspection": inspections["kyoiku"]}


# Who sees 教育部's own cycle and inspection: its head and the CISO's office.
SEES_KYOIKU_AUDIT = {"other_head", "ciso", "admin"}


@pytest.mark.parametrize(
    "endpoint, parameter, target",
    [
        ("/api/findings/", "cycle", "kyoiku_cycle"),
        ("/api/inspections/", "cycle", "kyoiku_cycle"),
        ("/api/answers/", "inspection", "kyoiku_inspection"),
    ],
)
@pytest.mark.parametrize("role", ROLES)
def test_an_audit_filter_by_an_id_the_caller_may_not_see_answers_like_an_unknown_id(
    api_as, audit_world, role, endpoint, parameter, target
):
    client = api_as(role)
    hidden = client.get(endpoint, {parameter: audit_world[target].pk})
    unknown = client.get(endpoint, {parameter: UNKNOWN_ID})
    if role in SEES_KYOIKU_AUDIT:
        assert hidden.status_code == 200
        assert unknown.status_code == 400
        return
    assert same_answer(hidden, unknown), (hidden.content, unknown.content)
    # Anonymous callers are refused before any lookup (401 or 403, whichever the API's
    # authentication answers).
    assert hidden.status_code in ((401, 403) if role == "anonymous" else (400,))


@pytest.mark.parametrize("role", ROLES)
def test_answering_an_inspection_the_caller_may_not_see_is_refused_like_an_unknown_one(
    api_as, audit_world, role
):
    inspection = audit_world["kyoiku_inspection"]
    item = inspection.cycle.checklist.items.order_by("pk").last()
    client = api_as(role)

    def post(inspection_id):
        data = {"inspection": inspection_id, "item": item.pk, "result": "compliant"}
        return client.post("/api/answers/", data, format="json")

    hidden, unknown = post(inspection.pk), post(UNKNOWN_ID)
    if role in SEES_KYOIKU_AUDIT:
        assert unknown.status_code == 400
        return
    assert same_answer(hidden, unknown, ids=(inspection.pk, UNKNOWN_ID)), (
        hidden.content,
        unknown.content,
    )


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n改定案",
        effective_date=timezone.localdate(),
        is_material=True,
        change_summary="改定案",
    )


# Who reads the 総務部 procedure's revisions, and drafts.
READS_DRAFTS = {"ciso", "admin"}


@pytest.mark.parametrize("role", ROLES)
def test_a_revision_filter_by_a_document_the_caller_may_not_read_answers_like_an_unknown_one(
    api_as, documents, role
):
    client = api_as(role)
    hidden = client.get("/api/revisions/", {"document": documents["procedure"].pk})
    unknown = client.get("/api/revisions/", {"document": UNKNOWN_ID})
    if role in READS_PROCEDURE:
        assert hidden.status_code == 200 and hidden.json()["count"] == 1
        return
    assert hidden.status_code == 400
    assert same_answer(hidden, unknown)


@pytest.mark.parametrize("role", ROLES)
def test_an_acknowledgement_filter_or_post_of_a_hidden_revision_answers_like_an_unknown_one(
    api_as, draft, procedure, role
):
    client = api_as(role)
    for hidden_revision, readers in ((draft, READS_DRAFTS), (procedure, READS_PROCEDURE)):
        hidden = client.get("/api/acknowledgements/", {"revision": hidden_revision.pk})
        unknown = client.get("/api/acknowledgements/", {"revision": UNKNOWN_ID})
        if role in readers:
            assert hidden.status_code == 200
            continue
        assert same_answer(hidden, unknown), (hidden.content, unknown.content)
        posted = client.post(
            "/api/acknowledgements/", {"revision": hidden_revision.pk}, format="json"
        )
        posted_unknown = client.post(
            "/api/acknowledgements/", {"revision": UNKNOWN_ID}, format="json"
        )
        assert posted.status_code == posted_unknown.status_code
        if role != "anonymous":
            assert posted.status_code == 400
            # The message names the id sent, and nothing else.
            assert posted.json() == {
                "revision": [
                    posted_unknown.json()["revision"][0].replace(
                        str(UNKNOWN_ID), str(hidden_revision.pk)
                    )
                ]
            }


# --- the training status page -------------------------------------------------------------


@pytest.fixture
def department_courses(org, people):
    today = timezone.localdate()
    made = {}
    for key, title, units in (
        ("all", "全職員研修", ()),
        ("somu", "総務部限定研修", ("somu",)),
        ("kyoiku", "教育部限定研修", ("kyoiku",)),
    ):
        course = Course.objects.create(
            title=title,
            content="## 研修",
            fiscal_year=fiscal_year(today),
            deadline=today + datetime.timedelta(days=30),
            audience="departments" if units else "all_staff",
            created_by=people["admin"],
        )
        course.departments.set([org[u] for u in units])
        courses.publish_course(course, by=people["admin"])
        made[key] = course
    return made


FOLLOWS = {
    "chief": {"all", "somu"},
    "head": {"all", "somu"},
    "other_head": {"all", "kyoiku"},
    "auditor": {"all", "somu", "kyoiku"},
    "ciso": {"all", "somu", "kyoiku"},
    "admin": {"all", "somu", "kyoiku"},
}


@pytest.mark.parametrize("role", ROLES)
def test_the_training_status_lists_only_the_courses_the_viewer_may_follow(
    as_role, department_courses, role
):
    client = as_role(role)
    response = client.get("/training/status/")
    if role == "anonymous":
        assert response.status_code == 302
        return
    if role not in FOLLOWS:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    options = {
        o.text.split("（")[0].split(" (")[0]
        for o in page(response).find("select", name="course").find_all("option")
    }
    assert options == {department_courses[key].title for key in FOLLOWS[role]}
    for key, course in department_courses.items():
        shown = client.get("/training/status/", {"course": course.pk})
        if key in FOLLOWS[role]:
            assert shown.status_code == 200
        else:
            # Another department's course answers like a course that does not exist.
            assert (
                shown.status_code
                == client.get("/training/status/", {"course": UNKNOWN_ID}).status_code
                == 404
            )
            assert course.title not in shown.content.decode()
            assert (
                client.get("/training/status/", {"course": course.pk, "output": "csv"}).status_code
                == 404
            )


# --- an asset's history after declassification -------------------------------------------


@pytest.fixture
def declassified(make_asset, people, catalogue):
    """An asset of 情報政策課 described while confidential, then declassified, then edited
    while public."""
    levels = catalogue["levels"]
    asset = make_asset("joho", c="2", name="庁内グループウェア", description="初期の説明")
    asset_services.update_asset(asset, by=people["chief"], description="機密の構成：サーバ10.0.0.5")
    asset_services.update_asset(
        asset,
        by=people["chief"],
        reason="公開情報になったため",
        confidentiality=levels[("confidentiality", "1")],
    )
    asset_services.update_asset(asset, by=people["chief"], location="公開後の設置場所")
    return asset


# Who could read the asset while it was confidential: its section, its managers and the
# register's city-wide readers.
READ_IT_CONFIDENTIAL = {"staff", "chief", "head", "auditor", "ciso", "admin"}
PERSONAS = [*ROLES, "staff_somuka", "other_staff"]


def history_texts(response):
    table = page(response).find(testid="history")
    assert table is not None, "the page shows no history"
    return table.text


@pytest.mark.parametrize("role", PERSONAS)
def test_a_declassified_assets_confidential_past_stays_with_those_who_could_read_it(
    as_role, api_as, declassified, role
):
    url = f"/assets/{declassified.pk}/"
    response = as_role(role).get(url)
    if role == "anonymous":
        assert response.status_code == 302
        assert api_as(role).get(f"/api{url}history/").status_code in (401, 403)
        return
    assert response.status_code == 200  # public now: everyone sees the asset
    text = history_texts(response)
    api = api_as(role).get(f"/api{url}history/")
    assert api.status_code == 200
    kinds = [entry["kind"] for entry in api.json()["results"]]
    if role in READ_IT_CONFIDENTIAL:
        assert "機密の構成" in text and "公開情報になったため" in text
        assert kinds == ["edited", "classified", "edited"]
        return
    # Only what happened after it became public.
    assert "機密の構成" not in text and "初期の説明" not in text
    assert "公開情報になったため" not in text
    assert "公開後の設置場所" in text
    assert kinds == ["edited"]
    assert "機密の構成" not in api.content.decode()


def test_existing_history_gets_its_classification_from_the_entries(
    declassified, make_asset, people
):
    """The migration that added the column fills it for entries written before."""
    secret = make_asset("somuka", c="3", name="人事評価記録")
    asset_services.update_asset(secret, by=people["head"], location="書庫")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE assets_assetchange DISABLE TRIGGER USER")
        cursor.execute("UPDATE assets_assetchange SET confidentiality_rank = 9")
        cursor.execute("ALTER TABLE assets_assetchange ENABLE TRIGGER USER")
    name = "0004_history_confidentiality"
    migration = importlib.import_module(f"assets.migrations.{name}")
    # The models as the migration sees them (without the append-only manager).
    state = MigrationExecutor(connection).loader.project_state(("assets", name))
    with connection.schema_editor(atomic=False) as editor:
        migration.fill_ranks(state.apps, editor)
    ranks = list(
        AssetChange.objects.filter(asset=declassified)
        .order_by("changed_at", "pk")
        .values_list("kind", "confidentiality_rank")
    )
    assert ranks == [("edited", 2), ("classified", 2), ("edited", 1)]
    # An asset never reclassified had its present level throughout.
    assert list(secret.history.values_list("confidentiality_rank", flat=True)) == [3]
