"""Which policy documents and revisions each caller may read through the API."""

import datetime

import pytest
from django.utils import timezone

from isms import policy_actions

from .conftest import publish

ALL = {"basic-policy", "standard", "procedure"}
STAFF_OUTSIDE_SOMU = {"basic-policy", "standard"}

# Who sees which documents: the procedure is for 総務部 (and the units below it) only.
VISIBLE_DOCUMENTS = {
    "anonymous": {"basic-policy"},
    "staff": ALL,
    "staff_somuka": ALL,
    "chief": ALL,
    "head": ALL,
    "other_head": STAFF_OUTSIDE_SOMU,
    "other_staff": STAFF_OUTSIDE_SOMU,
    "auditor": ALL,
    "ciso": ALL,
    "admin": ALL,
}
EVERYONE = list(VISIBLE_DOCUMENTS)
MANAGERS = ["ciso", "admin"]
NOT_MANAGERS = [role for role in EVERYONE if role not in MANAGERS]


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n改定案",
        effective_date=timezone.localdate() + datetime.timedelta(days=30),
    )


def codes(response):
    assert response.status_code == 200, response.content
    return {item["code"] for item in response.json()["results"]}


def revision_documents(response, documents):
    assert response.status_code == 200, response.content
    by_pk = {document.pk: document.code for document in documents.values()}
    return {by_pk[item["document"]] for item in response.json()["results"]}


@pytest.mark.parametrize("role", EVERYONE)
def test_each_caller_lists_exactly_the_documents_they_may_read(api_as, documents, role):
    response = api_as(role).get("/api/policies/")
    assert codes(response) == VISIBLE_DOCUMENTS[role]
    assert response.json()["count"] == len(VISIBLE_DOCUMENTS[role])


def test_anonymous_callers_see_only_the_public_basic_policy(api_as, documents):
    results = api_as("anonymous").get("/api/policies/").json()["results"]
    assert [(d["code"], d["audience"]) for d in results] == [("basic-policy", "public")]


def test_a_document_shows_its_revision_in_force(api_as, documents):
    results = api_as("staff").get("/api/policies/").json()["results"]
    current = {d["code"]: d["current_revision"] for d in results}
    for code, document in (("basic-policy", "basic"), ("standard", "standard")):
        assert current[code] == documents[document].current_revision().pk


def test_a_revision_published_ahead_of_its_effective_date_is_not_yet_current(
    api_as, documents, people
):
    in_force = documents["standard"].current_revision()
    publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n来月からの基準",
        effective_date=timezone.localdate() + datetime.timedelta(days=30),
    )
    results = api_as("staff").get("/api/policies/").json()["results"]
    assert {d["code"]: d["current_revision"] for d in results}["standard"] == in_force.pk


def test_the_procedure_names_its_audience_departments(api_as, documents):
    response = api_as("head").get(f"/api/policies/{documents['procedure'].pk}/")
    assert response.status_code == 200
    assert response.json()["audience_departments"] == ["somu"]


def test_documents_filter_by_kind(api_as, documents):
    assert codes(api_as("admin").get("/api/policies/", {"kind": "procedure"})) == {"procedure"}


@pytest.mark.parametrize("role", ["other_head", "other_staff", "anonymous"])
def test_the_somu_procedure_is_not_found_outside_its_audience(api_as, documents, role):
    response = api_as(role).get(f"/api/policies/{documents['procedure'].pk}/")
    assert response.status_code == 404
    assert "総務部だけの手順" not in response.content.decode()


@pytest.mark.parametrize("role", ["head", "staff_somuka", "auditor"])
def test_the_somu_procedure_can_be_retrieved_by_its_audience_and_the_auditor(
    api_as, documents, role
):
    response = api_as(role).get(f"/api/policies/{documents['procedure'].pk}/")
    assert response.status_code == 200
    assert response.json()["code"] == "procedure"


def test_anonymous_callers_cannot_retrieve_the_staff_standard(api_as, documents):
    response = api_as("anonymous").get(f"/api/policies/{documents['standard'].pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize("role", EVERYONE)
def test_each_caller_lists_the_published_revisions_of_the_documents_they_may_read(
    api_as, documents, draft, role
):
    response = api_as(role).get("/api/revisions/")
    assert revision_documents(response, documents) == VISIBLE_DOCUMENTS[role]
    statuses = {item["status"] for item in response.json()["results"]}
    if role in MANAGERS:
        assert statuses == {"published", "draft"}
    else:
        assert statuses == {"published"}


@pytest.mark.parametrize("role", NOT_MANAGERS)
def test_drafts_are_hidden_from_everyone_outside_the_cisos_office(api_as, draft, role):
    client = api_as(role)
    listed = [item["id"] for item in client.get("/api/revisions/").json()["results"]]
    assert draft.pk not in listed
    assert client.get(f"/api/revisions/{draft.pk}/").status_code == 404
    assert client.get("/api/revisions/", {"status": "draft"}).json()["results"] == []


@pytest.mark.parametrize("role", MANAGERS)
def test_the_cisos_office_reads_drafts(api_as, draft, role):
    client = api_as(role)
    response = client.get(f"/api/revisions/{draft.pk}/")
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response.json()["body"] == "## 第1章\n\n改定案"
    drafts = client.get("/api/revisions/", {"status": "draft"}).json()["results"]
    assert [item["id"] for item in drafts] == [draft.pk]


@pytest.mark.parametrize("role", ["other_head", "other_staff", "anonymous"])
def test_the_somu_procedures_revision_is_not_found_outside_its_audience(api_as, documents, role):
    revision = documents["procedure"].current_revision()
    response = api_as(role).get(f"/api/revisions/{revision.pk}/")
    assert response.status_code == 404
    assert "総務部だけの手順" not in response.content.decode()


def test_filtering_revisions_by_a_hidden_document_answers_like_an_unknown_one(api_as, documents):
    client = api_as("other_head")
    hidden = client.get("/api/revisions/", {"document": documents["procedure"].pk})
    unknown = client.get("/api/revisions/", {"document": 10**9})
    assert hidden.status_code == unknown.status_code == 400
    assert "総務部だけの手順" not in hidden.content.decode()
    assert hidden.json().keys() == unknown.json().keys() == {"document"}


def test_a_revision_shows_its_text_fingerprint_and_people(api_as, documents):
    revision = documents["standard"].current_revision()
    data = api_as("staff").get(f"/api/revisions/{revision.pk}/").json()
    assert data["body"] == revision.body
    assert data["content_sha256"] == revision.compute_sha256()
    assert (data["author"], data["approved_by"], data["published_by"]) == (
        "admin",
        "ciso",
        "admin",
    )


def test_superseded_revisions_stay_readable_as_history(api_as, documents, people):
    old = documents["standard"].current_revision()
    new = publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n改定後の基準",
    )
    response = api_as("staff").get("/api/revisions/", {"document": documents["standard"].pk})
    results = response.json()["results"]
    assert [(item["id"], item["status"]) for item in results] == [
        (new.pk, "published"),
        (old.pk, "superseded"),
    ]
