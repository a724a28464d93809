"""The whole API, fuzzed from its own OpenAPI schema: no input makes it answer 5xx, and every
answer matches what the schema promises.

Schemathesis generates valid and invalid requests for every operation of /api/schema/ and
sends them in-process through the portal's WSGI application (the real middleware, the real
PostgreSQL test database), authenticated by token as three roles. The seed is fixed, so a
run is reproducible; a failure prints the request as a curl command.
"""

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from acknowledgements.models import Acknowledgement
from audits.models import Answer, Evidence
from isms.models import PolicyRevision
from isms.tokens import issue_token
from isms.wsgi import application

from .audit_helpers import answer_all, inspection, open_cycle, record_finding, upload

# At least 1,000 cases over the three roles; each case is one request.
CASES_PER_ROLE = 350
ROLES = ["staff", "head", "auditor"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process_wsgi():
    """Django's own test client keeps the test's transaction open across requests by not
    closing connections at the end of each; a WSGI client must be told the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(in_process_wsgi, db):
    return schemathesis.openapi.from_wsgi("/api/schema/", in_process_wsgi)


@pytest.fixture
def known_ids(people, documents, org, register, settings, tmp_path):
    """Objects for the generated requests to find: with ids drawn only at random, nearly
    every request would end in 404 before reaching the code behind it."""
    from audits import services

    settings.MEDIA_ROOT = tmp_path
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    somu = answer_all(inspection(cycle, org["somu"]), by=people["head"], comment="点検済み")
    finding = record_finding(cycle, org["somu"], by=people["auditor"])
    services.attach_evidence(upload(), by=people["auditor"], finding=finding)
    answer = Answer.objects.filter(inspection=somu).first()
    services.attach_evidence(upload(), by=people["head"], answer=answer)
    revision = documents["standard"].current_revision()
    from acknowledgements import services as acknowledgements

    acknowledgements.acknowledge(people["staff"], revision)
    ids = {cycle.pk, somu.pk, finding.pk, answer.pk, revision.pk}
    ids |= set(Evidence.objects.values_list("pk", flat=True))
    ids |= set(PolicyRevision.objects.values_list("pk", flat=True))
    ids |= set(Acknowledgement.objects.values_list("pk", flat=True))
    ids |= {asset.pk for asset in register.values()}
    ids |= {department.pk for department in org.values()}
    ids |= {cycle.checklist.items.first().pk, cycle.checklist_id}
    # An incident with its PPC obligation, its report stages and a file.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incidents import services as incidents
    from incidents.models import Category

    incident = incidents.report(
        people["staff"],
        title="USBメモリ紛失",
        occurred_at=timezone.now(),
        department=org["joho"],
        personal_data=True,
        files=[SimpleUploadedFile("note.txt", b"lost", "text/plain")],
    )
    incidents.triage(
        incident,
        by=people["admin"],
        category=Category.objects.get(code="mistake"),
        severity="high",
        owner=people["admin"],
    )
    obligation = incident.obligations.first()
    ids |= {incident.pk, obligation.pk, incident.attachments.get().pk}
    ids |= set(obligation.stages.values_list("pk", flat=True))
    return sorted(ids)


def fuzz(api_schema, known_ids, role, user):
    _token, key = issue_token(user, name="fuzz")
    headers = {"Authorization": f"Token {key}"}
    generated = st.one_of(
        api_schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        api_schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    cases = []

    @seed(20251201 + ROLES.index(role))
    @settings(
        max_examples=CASES_PER_ROLE,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=generated, known=st.sampled_from(known_ids), use_known=st.booleans())
    def run(case, known, use_known):
        # Half of the cases that name an object by id name one that exists.
        if use_known and "id" in (case.path_parameters or {}):
            case.path_parameters["id"] = known
        cases.append(case)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    return cases


@pytest.mark.parametrize("role", ROLES)
def test_no_generated_request_breaks_the_api(api_schema, known_ids, people, role):
    started = datetime.datetime.now()
    cases = fuzz(api_schema, known_ids, role, people[role])
    assert len(cases) >= CASES_PER_ROLE, (len(cases), datetime.datetime.now() - started)


# What the fuzzing found, pinned down one by one.


@pytest.fixture
def evidence(known_ids):
    return Evidence.objects.filter(finding__isnull=False).get()


@pytest.mark.parametrize("suffix", ["", "download/"])
@pytest.mark.parametrize("evidence_id", ["abc", "²", "1.5", str(2**63), "9" * 30])
def test_a_malformed_evidence_id_is_404_with_a_json_reason(api_as, evidence, suffix, evidence_id):
    response = api_as("auditor").get(f"/api/evidence/{evidence_id}/{suffix}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_the_evidence_itself_is_still_found_by_its_id(api_as, evidence):
    response = api_as("auditor").get(f"/api/evidence/{evidence.pk}/")
    assert response.status_code == 200
    assert response.json()["sha256"] == evidence.sha256


def test_a_path_that_matches_no_api_route_is_a_json_404(api_as, people):
    response = api_as("staff").get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("value", ["²", "１２", "abc", "", "0", str(2**63)])
def test_a_malformed_revision_id_in_the_status_query_is_400_with_the_reason(
    api_as, standard, value
):
    response = api_as("admin").get("/api/acknowledgements/status/", {"revision": value})
    assert response.status_code == 400
    assert response.json()["revision"]


@pytest.mark.parametrize("value", ["²", "abc", str(2**63)])
def test_a_malformed_revision_to_compare_with_is_400_with_the_reason(api_as, standard, value):
    response = api_as("staff").get(f"/api/revisions/{standard.pk}/diff/", {"against": value})
    assert response.status_code == 400
    assert response.json()["against"]


@pytest.mark.parametrize("url", ["/api/assets/{}/", "/api/findings/{}/", "/api/revisions/{}/"])
def test_an_id_beyond_any_database_id_is_404(api_as, known_ids, url):
    assert api_as("auditor").get(url.format("9" * 30)).status_code == 404


def test_a_nul_in_an_answer_comment_is_400_and_nothing_is_saved(api_as, known_ids, people):
    answer = Answer.objects.filter(inspection__department__code="somu").first()
    response = api_as("head").post(
        "/api/answers/",
        {
            "inspection": answer.inspection_id,
            "item": answer.item_id,
            "result": "partly",
            "comment": "一部\x00のみ",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["comment"]
    answer.refresh_from_db()
    assert (answer.result, answer.comment) == ("compliant", "点検済み")
