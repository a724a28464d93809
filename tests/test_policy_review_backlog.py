"""The policy review backlog at /policy-review/ (isms.review, isms/views/review.py): one list
of what the policy should change, fed by audit findings (and incidents, risks), each item
shown to those who may read the record it came from; the CISO's office cites items in a
revision being prepared, and the revision's pages name the items it addresses (seed 8).

The city of conftest.py; one self-inspection of 総務部 and 教育部 with the auditor assigned
to 総務部 only, and a finding of each department flagged for the policy review."""

import datetime

import pytest
from django.utils import timezone

from audits import services as audit_services
from audits.models import Finding
from isms import policy_actions, review
from isms.models import ReviewItem

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES
from .incident_helpers import csirt_fixture  # noqa: F401
from .pages import is_login_redirect, links, page

URL = "/policy-review/"
READERS = {"auditor", "ciso", "admin", "csirt"}
CISOS_OFFICE = {"ciso", "admin"}


@pytest.fixture
def visit(client, people, csirt):
    """visit(role) -> a test client signed in as that persona, the CSIRT member included."""

    def login(role):
        client.logout()
        if role == "csirt":
            client.force_login(csirt)
        elif role != "anonymous":
            client.force_login(people[role])
        return client

    return login


@pytest.fixture
def cycle(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def findings(cycle, org, people):
    """A flagged finding of each department, and one of 総務部 that is not flagged."""
    return {
        "somu": record_finding(cycle, org["somu"], by=people["auditor"], needs_policy_review=True),
        "kyoiku": record_finding(
            cycle, org["kyoiku"], by=people["admin"], title="教育部の所見", needs_policy_review=True
        ),
        "unflagged": record_finding(cycle, org["somu"], by=people["auditor"], title="軽微な所見"),
    }


@pytest.fixture
def items(findings):
    return {key: item_of(findings[key]) for key in ("somu", "kyoiku")}


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\n連絡体制を年度ごとに見直す。",
        effective_date=timezone.localdate(),
    )


def item_of(finding):
    (item,) = review.items_of(finding)
    return item


def backlog_rows(response):
    table = page(response).find("table", testid="backlog")
    assert table is not None
    return table.find_all("tr", testid="backlog-item")


def finding_links(response):
    """The findings the backlog lists, by the link of their row."""
    return {
        a.attrs["href"]
        for row in backlog_rows(response)
        for a in row.find_all("a")
        if a.attrs["href"].startswith("/audits/findings/")
    }


def finding_url(finding):
    return f"/audits/findings/{finding.pk}/"


# Who sees the page, and which items -------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, "csirt"])
def test_the_backlog_is_for_the_citywide_readers_and_the_csirt_and_refuses_everyone_else(
    items, visit, role
):
    response = visit(role).get(URL)
    if role == "anonymous":
        assert is_login_redirect(response, URL)
    elif role in READERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert finding_url(items["somu"]) not in response.content.decode()


@pytest.mark.parametrize(
    "role, expected",
    [
        ("auditor", {"somu"}),
        ("ciso", {"somu", "kyoiku"}),
        ("admin", {"somu", "kyoiku"}),
        ("csirt", set()),
    ],
)
def test_each_reader_sees_exactly_the_items_whose_finding_they_may_read(
    findings, items, visit, role, expected
):
    response = visit(role).get(URL)
    assert finding_links(response) == {finding_url(findings[key]) for key in expected}


@pytest.mark.parametrize("role", ["staff", "head", "auditor", "csirt", "admin"])
def test_the_navigation_links_the_backlog_for_its_readers_only(documents, visit, role):
    assert (URL in links(visit(role).get("/policies/"))) == (role in READERS)


def test_the_old_address_under_audits_redirects_there_for_good(visit):
    response = visit("auditor").get("/audits/policy-review/?kind=audits.finding&page=2")
    assert response.status_code == 301
    assert response["Location"] == f"{URL}?kind=audits.finding&page=2"


def test_each_row_names_the_source_department_raised_date_and_citing_revisions(
    findings, items, draft, standard, people, visit
):
    raised = datetime.datetime(2025, 6, 2, 9, 30, tzinfo=datetime.UTC)
    ReviewItem.objects.filter(pk=items["somu"].pk).update(raised_at=raised)
    review.cite(draft, [items["somu"]], by=people["admin"])
    # A revision published since, still citing the item (as cited before publication).
    items["somu"].cited_by.add(standard)

    for role, draft_link in (("admin", True), ("auditor", False)):
        (row,) = [
            row
            for row in backlog_rows(visit(role).get(URL))
            if finding_url(findings["somu"]) in [a.attrs["href"] for a in row.find_all("a")]
        ]
        cells = row.find_all("td")
        assert cells[0].text == review.source_label("audits.finding")
        assert cells[1].text == findings["somu"].title
        assert cells[2].text == "総務部"
        assert cells[3].text == "令和7年6月2日"
        hrefs = [a.attrs["href"] for a in cells[4].find_all("a")]
        # The published revision's public page for every reader; the draft's manage page
        # for the CISO's office, its name alone for the others.
        assert f"/policies/standard/revisions/{standard.number}/" in hrefs
        assert (f"/manage/revisions/{draft.pk}/" in hrefs) == draft_link
        assert draft.full_name in cells[4].text


def test_the_backlog_filters_the_items_no_revision_cites_yet(findings, items, draft, people, visit):
    review.cite(draft, [items["kyoiku"]], by=people["admin"])
    client = visit("ciso")
    assert finding_links(client.get(f"{URL}?uncited=on")) == {finding_url(findings["somu"])}
    assert len(finding_links(client.get(URL))) == 2


def test_the_backlog_filters_by_kind_and_says_when_a_kind_is_unknown(findings, items, visit):
    client = visit("ciso")
    assert len(finding_links(client.get(f"{URL}?kind=audits.finding"))) == 2
    response = client.get(f"{URL}?kind=incidents.nothing")
    assert response.status_code == 200
    assert page(response).find(id="id_kind_error") is not None
    assert len(finding_links(response)) == 2  # a refused filter filters nothing


# Citing items in a revision ------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(READERS))
def test_only_the_cisos_office_is_offered_the_cite_form(items, visit, role):
    response = visit(role).get(URL)
    assert (page(response).find(testid="cite-form") is not None) == (role in CISOS_OFFICE)


def test_the_cisos_office_cites_items_in_a_draft_from_the_backlog(findings, items, draft, visit):
    client = visit("admin")
    response = client.post(f"{URL}?uncited=on", {"revision": draft.pk, "items": [items["somu"].pk]})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?uncited=on"
    assert list(items["somu"].cited_by.all()) == [draft]
    assert not items["kyoiku"].cited_by.exists()
    # No longer uncited; on the full list, beside the revision.
    assert finding_links(client.get(f"{URL}?uncited=on")) == {finding_url(findings["kyoiku"])}
    (row,) = [
        row
        for row in backlog_rows(client.get(URL))
        if finding_url(findings["somu"]) in [a.attrs["href"] for a in row.find_all("a")]
    ]
    assert f"/manage/revisions/{draft.pk}/" in [a.attrs["href"] for a in row.find_all("a")]


def test_citing_a_published_revision_is_an_error_beside_the_revision_and_keeps_the_choice(
    items, standard, visit
):
    response = visit("ciso").post(URL, {"revision": standard.pk, "items": [items["somu"].pk]})
    assert response.status_code == 200
    dom = page(response)
    assert dom.find(id="id_revision_error") is not None
    assert dom.find(testid="error-summary") is not None
    checked = dom.find("input", name="items", value=str(items["somu"].pk))
    assert "checked" in checked.attrs
    assert not items["somu"].cited_by.exists()


def test_citing_no_item_is_an_error_beside_the_items(items, draft, visit):
    response = visit("ciso").post(URL, {"revision": draft.pk})
    assert response.status_code == 200
    assert page(response).find(id="id_items_error") is not None
    assert not draft.review_items.exists()


def test_an_item_that_is_not_on_the_backlog_cannot_be_cited(items, draft, visit):
    response = visit("admin").post(URL, {"revision": draft.pk, "items": [items["somu"].pk + 999]})
    assert response.status_code == 200
    assert page(response).find(id="id_items_error") is not None


@pytest.mark.parametrize("role", ["auditor", "csirt", "head", "staff"])
def test_nobody_outside_the_cisos_office_may_post_the_cite_form(items, draft, visit, role):
    response = visit(role).post(URL, {"revision": draft.pk, "items": [items["somu"].pk]})
    assert response.status_code == 403
    assert not draft.review_items.exists()


# The revision's pages ------------------------------------------------------------------


def panel_links(response):
    """The links of the review-items panel ([] when the page has none)."""
    panels = page(response).find_all(testid="review-items")
    assert len(panels) <= 1
    return sorted(a.attrs["href"] for panel in panels for a in panel.find_all("a"))


def test_a_revision_that_cites_nothing_has_no_review_items_panel(items, draft, visit):
    assert panel_links(visit("admin").get(f"/manage/revisions/{draft.pk}/")) == []


def test_the_revision_pages_name_the_cited_items_their_reader_may_see(
    findings, items, draft, people, visit
):
    review.cite(draft, [items["somu"], items["kyoiku"]], by=people["admin"])
    both = sorted([finding_url(findings["somu"]), finding_url(findings["kyoiku"])])
    assert panel_links(visit("admin").get(f"/manage/revisions/{draft.pk}/")) == both

    policy_actions.submit_for_review(draft, by=people["admin"])
    policy_actions.approve(draft, by=people["ciso"])
    policy_actions.publish(draft, by=people["admin"])
    url = f"/policies/standard/revisions/{draft.number}/"
    expected = {
        "ciso": both,
        "admin": both,
        "auditor": [finding_url(findings["somu"])],
        # They read the revision, not the backlog.
        "staff": [],
        "head": [],
        "other_head": [],
        "csirt": [],
    }
    for role, shown in expected.items():
        response = visit(role).get(url)
        assert response.status_code == 200, role
        assert panel_links(response) == shown, role


# Items follow the auditor's flag ---------------------------------------------------------


def unflag(client, finding):
    return client.post(
        finding_url(finding),
        {
            "title": finding.title,
            "area": finding.area,
            "severity": finding.severity,
            "description": finding.description,
            "recommendation": finding.recommendation,
        },
    )


def test_unflagging_a_finding_takes_it_off_the_backlog_unless_a_revision_cites_it(
    cycle, org, findings, items, draft, people, visit
):
    cited = record_finding(
        cycle, org["somu"], by=people["auditor"], title="引用済みの所見", needs_policy_review=True
    )
    review.cite(draft, review.items_of(cited), by=people["admin"])
    auditor = visit("auditor")
    assert finding_links(auditor.get(URL)) == {finding_url(findings["somu"]), finding_url(cited)}

    for finding in (findings["somu"], cited):
        assert unflag(auditor, finding).status_code == 302
        finding.refresh_from_db()
        assert not finding.needs_policy_review

    assert finding_links(auditor.get(URL)) == {finding_url(cited)}
    assert finding_links(visit("ciso").get(URL)) == {
        finding_url(cited),
        finding_url(findings["kyoiku"]),
    }


# A page of many items ------------------------------------------------------------------


@pytest.fixture
def fill(cycle, org, people, draft, standard):
    """fill(n) -> flagged findings and their items until there are n, half of each
    department, every third cited by the draft and the published standard."""

    def fill_to(n):
        start = ReviewItem.objects.count()
        now = timezone.now()
        created = Finding.objects.bulk_create(
            Finding(
                cycle=cycle,
                department=org["somu"] if number % 2 == 0 else org["kyoiku"],
                area="assets",
                title=f"所見{number:04d}",
                severity="minor",
                description="機密性2の情報の持出しが記録されていない。",
                needs_policy_review=True,
                created_by=people["auditor"],
                created_at=now,
            )
            for number in range(start, n)
        )
        new_items = ReviewItem.objects.bulk_create(
            ReviewItem(
                source_kind="audits.finding",
                source_id=finding.pk,
                title=finding.title,
                department=finding.department,
                link=finding_url(finding),
                raised_by=people["auditor"],
            )
            for finding in created
        )
        Cited = ReviewItem.cited_by.through
        Cited.objects.bulk_create(
            Cited(reviewitem_id=item.pk, policyrevision_id=revision.pk)
            for item in new_items[::3]
            for revision in (draft, standard)
        )
        assert ReviewItem.objects.count() == n

    return fill_to


# Measured: 8 queries for the CISO's office (the cite form's revisions included), 7 for the
# auditor and 5 for the CSIRT (no item), with one to spare. A query per row would
# overshoot them by fifty.
BACKLOG_PAGE_QUERIES = 9


@pytest.mark.parametrize("role", ["auditor", "ciso", "csirt"])
def test_the_backlog_page_runs_the_same_queries_for_6_and_300_items(
    fill, visit, role, django_assert_max_num_queries
):
    client = visit(role)
    fill(6)
    client.get(URL)  # warm the per-process caches
    with django_assert_max_num_queries(BACKLOG_PAGE_QUERIES) as small:
        client.get(URL)
    fill(300)
    with django_assert_max_num_queries(BACKLOG_PAGE_QUERIES) as large:
        response = client.get(URL)
    assert len(large) == len(small)
    shown = backlog_rows(response)
    assert len(shown) == {"auditor": 50, "ciso": 50, "csirt": 0}[role]
