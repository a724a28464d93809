"""Acknowledging policy revisions through the API, and following who still has to."""

import pytest

from acknowledgements.models import Acknowledgement
from isms import policy_actions

from .conftest import publish
from .factories import add_acknowledgements, add_staff

ACKS = "/api/acknowledgements/"
PENDING = "/api/acknowledgements/pending/"
STATUS = "/api/acknowledgements/status/"


def acknowledge(client, revision):
    return client.post(ACKS, {"revision": revision.pk}, format="json")


def pending_codes(client):
    response = client.get(PENDING)
    assert response.status_code == 200, response.content
    return [item["document"] for item in response.json()["results"]]


def section_counts(response):
    """{section code: (total, acknowledged, pending)} from a status response."""
    assert response.status_code == 200, response.content
    return {
        section["code"]: (section["total"], section["acknowledged"], section["pending"])
        for department in response.json()["departments"]
        for section in department["sections"]
    }


# Acknowledging


def test_acknowledging_creates_one_record_with_the_texts_fingerprint(api_as, standard, people):
    client = api_as("staff")
    response = client.post(
        ACKS, {"revision": standard.pk}, format="json", HTTP_USER_AGENT="pytest-browser"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["user"] == "staff_joho"
    assert data["revision"] == standard.pk
    assert data["content_sha256"] == standard.content_sha256
    ack = Acknowledgement.objects.get(user=people["staff"], revision=standard)
    assert ack.pk == data["id"]
    assert (ack.ip_address, ack.user_agent) == ("127.0.0.1", "pytest-browser")


def test_acknowledging_twice_returns_the_same_record_with_200(api_as, standard, people):
    client = api_as("staff")
    first = acknowledge(client, standard)
    second = acknowledge(client, standard)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert Acknowledgement.objects.filter(user=people["staff"], revision=standard).count() == 1


def test_acknowledging_a_superseded_revision_is_a_400(api_as, documents, standard, people):
    publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n改定後の基準",
    )
    response = acknowledge(api_as("staff"), standard)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Acknowledgement.objects.filter(revision=standard).exists()


def test_acknowledging_a_draft_is_a_400(api_as, documents, people):
    draft = policy_actions.create_draft(documents["standard"], by=people["admin"])
    response = acknowledge(api_as("admin"), draft)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Acknowledgement.objects.filter(revision=draft).exists()


def test_a_draft_is_no_such_revision_to_staff(api_as, documents, people):
    draft = policy_actions.create_draft(documents["standard"], by=people["admin"])
    response = acknowledge(api_as("staff"), draft)
    assert response.status_code == 400
    # The same answer as for a document the caller may not read: nothing about the draft.
    assert response.json() == {"revision": ["No such revision."]}
    assert not Acknowledgement.objects.filter(revision=draft).exists()


def test_staff_outside_somu_cannot_acknowledge_the_somu_procedure(api_as, procedure):
    response = acknowledge(api_as("other_staff"), procedure)
    assert response.status_code == 400
    assert response.json() == {"revision": ["No such revision."]}
    assert "総務部だけの手順" not in response.content.decode()
    assert not Acknowledgement.objects.filter(revision=procedure).exists()


def test_a_revision_that_asks_nobody_for_an_acknowledgement_is_a_403(api_as, documents):
    # The basic policy was an editorial change: no campaign, nothing to acknowledge.
    basic = documents["basic"].current_revision()
    response = acknowledge(api_as("staff"), basic)
    assert response.status_code == 403
    assert not Acknowledgement.objects.filter(revision=basic).exists()


def test_the_auditor_reads_the_somu_procedure_but_is_not_asked_to_acknowledge_it(api_as, procedure):
    response = acknowledge(api_as("auditor"), procedure)
    assert response.status_code == 403
    assert not Acknowledgement.objects.filter(revision=procedure).exists()


@pytest.mark.parametrize("payload", [{}, {"revision": 999999}, {"revision": "standard"}])
def test_acknowledging_without_a_real_revision_is_a_400(api_as, documents, payload):
    response = api_as("staff").post(ACKS, payload, format="json")
    assert response.status_code == 400
    assert "revision" in response.json()
    assert not Acknowledgement.objects.exists()


def test_anonymous_callers_cannot_acknowledge(api_as, standard):
    response = acknowledge(api_as("anonymous"), standard)
    assert response.status_code in (401, 403)
    assert not Acknowledgement.objects.exists()


def test_an_acknowledgement_cannot_be_changed_or_withdrawn_through_the_api(
    api_as, standard, people
):
    client = api_as("staff")
    ack_id = acknowledge(client, standard).json()["id"]
    assert client.delete(f"{ACKS}{ack_id}/").status_code == 405
    assert client.patch(f"{ACKS}{ack_id}/", {"user_agent": "x"}).status_code == 405
    assert Acknowledgement.objects.filter(pk=ack_id).exists()


# Listing one's own


def test_the_list_shows_only_the_callers_own_acknowledgements(api_as, standard, procedure, people):
    acknowledge(api_as("staff"), standard)
    acknowledge(api_as("staff_somuka"), standard)
    acknowledge(api_as("staff_somuka"), procedure)
    mine = api_as("staff").get(ACKS).json()["results"]
    assert [(a["user"], a["revision"]) for a in mine] == [("staff_joho", standard.pk)]
    theirs = api_as("staff_somuka").get(ACKS).json()["results"]
    assert {a["revision"] for a in theirs} == {standard.pk, procedure.pk}
    assert {a["user"] for a in theirs} == {"staff_somuka"}


def test_someone_elses_acknowledgement_is_not_found(api_as, standard):
    ack_id = acknowledge(api_as("staff_somuka"), standard).json()["id"]
    assert api_as("staff").get(f"{ACKS}{ack_id}/").status_code == 404
    assert api_as("staff_somuka").get(f"{ACKS}{ack_id}/").status_code == 200


def test_anonymous_callers_have_no_list(api_as, db):
    assert api_as("anonymous").get(ACKS).status_code in (401, 403)


# Pending


def test_pending_lists_what_the_caller_still_has_to_acknowledge(api_as, documents):
    response = api_as("staff").get(PENDING)
    results = response.json()["results"]
    assert sorted(item["document"] for item in results) == ["procedure", "standard"]
    standard = next(item for item in results if item["document"] == "standard")
    revision = documents["standard"].current_revision()
    assert standard["revision"] == revision.pk
    assert standard["title"] == revision.title
    assert standard["number"] == revision.number
    assert standard["effective_date"] == revision.effective_date.isoformat()
    assert standard["deadline"] == revision.campaign.deadline.isoformat()


def test_pending_leaves_out_the_somu_procedure_for_staff_elsewhere(api_as, documents):
    assert pending_codes(api_as("other_staff")) == ["standard"]
    assert pending_codes(api_as("other_head")) == ["standard"]


def test_an_acknowledged_revision_disappears_from_pending(api_as, standard):
    client = api_as("staff")
    assert "standard" in pending_codes(client)
    acknowledge(client, standard)
    assert pending_codes(client) == ["procedure"]
    # Someone else's pending list is unchanged.
    assert sorted(pending_codes(api_as("chief"))) == ["procedure", "standard"]


def test_a_new_material_revision_is_pending_again(api_as, documents, standard, people):
    client = api_as("other_staff")
    acknowledge(client, standard)
    assert pending_codes(client) == []
    new = publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n改定後の基準",
    )
    results = client.get(PENDING).json()["results"]
    assert [(item["document"], item["revision"]) for item in results] == [("standard", new.pk)]


def test_anonymous_callers_have_nothing_pending(api_as, documents):
    assert api_as("anonymous").get(PENDING).status_code in (401, 403)


# Status


def test_staff_cannot_follow_acknowledgement_status(api_as, standard):
    response = api_as("staff").get(STATUS, {"revision": standard.pk})
    assert response.status_code == 403
    assert response.json()["detail"]


def test_anonymous_callers_cannot_follow_acknowledgement_status(api_as, standard):
    assert api_as("anonymous").get(STATUS, {"revision": standard.pk}).status_code in (401, 403)


def test_the_head_of_somu_sees_only_somu(api_as, standard):
    response = api_as("head").get(STATUS, {"revision": standard.pk})
    assert section_counts(response) == {
        "somu": (1, 0, 1),
        "joho": (3, 0, 3),
        "somuka": (1, 0, 1),
    }
    assert [d["code"] for d in response.json()["departments"]] == ["somu"]
    assert response.json()["revision"] == standard.pk
    assert response.json()["deadline"] == standard.campaign.deadline.isoformat()


def test_the_head_of_kyoiku_sees_only_kyoiku(api_as, standard):
    response = api_as("other_head").get(STATUS, {"revision": standard.pk})
    assert section_counts(response) == {"kyoiku": (1, 0, 1), "gakko": (1, 0, 1)}
    assert [d["code"] for d in response.json()["departments"]] == ["kyoiku"]


def test_the_chief_sees_only_their_own_section(api_as, standard):
    response = api_as("chief").get(STATUS, {"revision": standard.pk})
    assert section_counts(response) == {"joho": (3, 0, 3)}


@pytest.mark.parametrize("role", ["auditor", "ciso", "admin"])
def test_the_programme_oversight_roles_see_every_section(api_as, standard, role):
    response = api_as(role).get(STATUS, {"revision": standard.pk})
    assert section_counts(response) == {
        "mayor": (1, 0, 1),
        "somu": (1, 0, 1),
        "joho": (3, 0, 3),
        "somuka": (1, 0, 1),
        "kyoiku": (1, 0, 1),
        "gakko": (1, 0, 1),
        "kansa-ka": (1, 0, 1),
    }
    totals = {d["code"]: (d["total"], d["pending"]) for d in response.json()["departments"]}
    assert totals["somu"] == (5, 5)
    assert totals["kyoiku"] == (2, 2)


def test_the_somu_procedure_counts_only_somu(api_as, procedure):
    response = api_as("admin").get(STATUS, {"revision": procedure.pk})
    assert section_counts(response) == {
        "somu": (1, 0, 1),
        "joho": (3, 0, 3),
        "somuka": (1, 0, 1),
    }


def test_the_head_of_kyoiku_cannot_follow_the_somu_procedure(api_as, procedure):
    response = api_as("other_head").get(STATUS, {"revision": procedure.pk})
    assert response.status_code == 404
    assert "joho" not in response.content.decode()


def test_counts_change_after_an_acknowledgement(api_as, standard):
    head = api_as("head")
    before = section_counts(head.get(STATUS, {"revision": standard.pk}))
    assert acknowledge(api_as("staff"), standard).status_code == 201
    after = section_counts(head.get(STATUS, {"revision": standard.pk}))
    assert before["joho"] == (3, 0, 3)
    assert after["joho"] == (3, 1, 2)
    assert after["somuka"] == before["somuka"]


def test_an_inactive_person_is_not_counted(api_as, standard, people):
    people["staff_somuka"].is_active = False
    people["staff_somuka"].save()
    counts = section_counts(api_as("head").get(STATUS, {"revision": standard.pk}))
    assert "somuka" not in counts


@pytest.mark.parametrize("params", [{}, {"revision": ""}, {"revision": "abc"}, {"revision": "1.5"}])
def test_status_without_a_usable_revision_is_a_400(api_as, documents, params):
    response = api_as("head").get(STATUS, params)
    assert response.status_code == 400
    assert "revision" in response.json()


def test_status_of_a_revision_without_a_campaign_is_a_404(api_as, documents):
    basic = documents["basic"].current_revision()
    assert api_as("admin").get(STATUS, {"revision": basic.pk}).status_code == 404
    assert api_as("admin").get(STATUS, {"revision": 999999}).status_code == 404


# Query counts do not grow with the number of staff


# Measured: pending is a count and a page; status is the caller's roles, their scope (twice),
# the campaign, one aggregate over people and one query for the sections' names.
PENDING_QUERIES = 2
STATUS_QUERIES = 6


@pytest.mark.parametrize("extra", [10, 200])
def test_pending_takes_the_same_number_of_queries_however_many_staff(
    api_as, org, standard, procedure, django_assert_max_num_queries, extra
):
    add_acknowledgements(add_staff(org, extra), standard)
    client = api_as("staff")
    with django_assert_max_num_queries(PENDING_QUERIES):
        response = client.get(PENDING)
    assert response.json()["count"] == 2


@pytest.mark.parametrize("extra", [10, 200])
@pytest.mark.parametrize("role", ["head", "admin"])
def test_status_takes_the_same_number_of_queries_however_many_staff(
    api_as, org, standard, django_assert_max_num_queries, extra, role
):
    users = add_staff(org, extra)
    add_acknowledgements(users, standard)
    # Warm the per-process content type caches (django-guardian's) with another persona, so
    # the count does not depend on which test ran first.
    api_as("chief").get(STATUS, {"revision": standard.pk})
    client = api_as(role)
    with django_assert_max_num_queries(STATUS_QUERIES):
        response = client.get(STATUS, {"revision": standard.pk})
    counts = section_counts(response)
    # add_staff puts every fourth person in 情報政策課; add_acknowledgements every third.
    in_joho = [n for n in range(len(users)) if n % 4 == 0]
    done = len([n for n in in_joho if n % 3 == 0])
    assert counts["joho"] == (3 + len(in_joho), done, 3 + len(in_joho) - done)
    assert ("gakko" in counts) == (role == "admin")
