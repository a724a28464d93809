"""Following who has acknowledged: the status pages of heads, chiefs and the city-wide
oversight roles, each limited to the departments the viewer oversees."""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from isms.eras import to_era
from isms.models import User

from .conftest import ROLES, publish
from .factories import password_hash
from .pages import form_actions, is_login_redirect, ja, links, messages, page

# Where the personas sit (see conftest): the status pages group people by these sections.
SOMUBU_SECTIONS = {"somu", "joho", "somuka"}
KYOIKUBU_SECTIONS = {"kyoiku", "gakko"}
EVERY_SECTION = SOMUBU_SECTIONS | KYOIKUBU_SECTIONS | {"kansa-ka", "mayor"}
SOMUBU_PEOPLE = {"head_somu", "chief_joho", "staff_joho", "admin", "staff_somuka"}
KYOIKUBU_PEOPLE = {"head_kyoiku", "staff_kyoiku"}
EVERYONE = SOMUBU_PEOPLE | KYOIKUBU_PEOPLE | {"auditor", "ciso"}

SCOPE = {
    # role: (sections shown, people shown) for the all-staff standard
    "chief": ({"joho"}, {"chief_joho", "staff_joho", "admin"}),
    "head": (SOMUBU_SECTIONS, SOMUBU_PEOPLE),
    "other_head": (KYOIKUBU_SECTIONS, KYOIKUBU_PEOPLE),
    "auditor": (EVERY_SECTION, EVERYONE),
    "ciso": (EVERY_SECTION, EVERYONE),
    "admin": (EVERY_SECTION, EVERYONE),
}


def status_url(revision, query=""):
    return f"/acknowledgements/status/{revision.pk}/{query}"


def section_rows(response):
    """{section code: (staff, acknowledged, not yet)} from the progress table."""
    table = page(response).find("table", testid="status-table")
    rows = {}
    for tr in table.find_all("tr"):
        code = tr.attrs.get("data-section")
        if code:
            cells = [td.text for td in tr.find_all("td")]
            rows[code] = (int(cells[1]), int(cells[2]), int(cells[3]))
    return rows


def people_rows(response):
    """{user name: acknowledged text} from the people table (names shown as 'user さん')."""
    tables = page(response).find_all("table")
    people = tables[-1].find("tbody").find_all("tr")
    shown = {}
    for tr in people:
        cells = [td.text for td in tr.find_all("td")]
        if len(cells) == 3:
            shown[cells[1].removesuffix(" さん")] = cells[2]
    return shown


def csv_rows(response):
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))


# --- who may look ------------------------------------------------------------------------


def expect_overseers_only(response, role, path):
    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in SCOPE:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [*ROLES, "other_staff"])
def test_the_campaign_list_is_for_those_who_oversee_a_department(as_role, standard, role):
    response = as_role(role).get("/acknowledgements/status/")

    expect_overseers_only(response, role, "/acknowledgements/status/")
    if response.status_code == 200:
        assert status_url(standard) in links(response)


@pytest.mark.parametrize(
    ("role", "campaigns"),
    [
        ("chief", {"standard", "procedure"}),
        ("head", {"standard", "procedure"}),
        ("other_head", {"standard"}),
        ("auditor", {"standard", "procedure"}),
        ("admin", {"standard", "procedure"}),
    ],
)
def test_the_campaign_list_offers_only_campaigns_of_documents_the_viewer_may_read(
    as_role, standard, procedure, role, campaigns
):
    response = as_role(role).get("/acknowledgements/status/")

    urls = {"standard": status_url(standard), "procedure": status_url(procedure)}
    offered = {name for name, url in urls.items() if url in links(response)}
    assert offered == campaigns


@pytest.mark.parametrize("role", [*ROLES, "other_staff"])
def test_the_status_page_is_for_those_who_oversee_a_department(as_role, standard, role):
    response = as_role(role).get(status_url(standard))

    expect_overseers_only(response, role, status_url(standard))


@pytest.mark.parametrize("role", list(SCOPE))
def test_the_status_page_shows_only_the_sections_and_people_the_viewer_oversees(
    as_role, standard, role
):
    sections, people = SCOPE[role]

    response = as_role(role).get(status_url(standard))

    assert set(section_rows(response)) == sections
    assert set(people_rows(response)) == people
    hidden = EVERYONE - people
    content = response.content.decode()
    assert not [name for name in hidden if f"{name} さん" in content]


def test_a_head_never_sees_the_sections_or_people_of_another_department(as_role, standard):
    content = as_role("head").get(status_url(standard)).content.decode()

    assert "教育部" not in content
    assert "学校教育課" not in content
    assert "staff_kyoiku" not in content
    assert "head_kyoiku" not in content


def test_the_other_head_sees_kyoikubu_only(as_role, standard):
    content = as_role("other_head").get(status_url(standard)).content.decode()

    assert "教育部" in content and "学校教育課" in content
    for outside in ("総務部", "情報政策課", "総務課", "監査課", "staff_joho", "staff_somuka"):
        assert outside not in content


def test_a_chief_sees_only_their_own_section(as_role, standard):
    content = as_role("chief").get(status_url(standard)).content.decode()

    assert "情報政策課" in content
    for outside in ("総務課", "学校教育課", "staff_somuka", "head_somu"):
        assert outside not in content


def test_the_status_of_the_somubu_procedure_is_404_for_the_other_head(as_role, procedure):
    response = as_role("other_head").get(status_url(procedure))

    assert response.status_code == 404
    assert "運用手順" not in response.content.decode()


def test_the_status_of_a_revision_without_a_campaign_is_404(as_role, documents):
    basic = documents["basic"].current_revision()

    assert as_role("admin").get(status_url(basic)).status_code == 404


# --- the counts --------------------------------------------------------------------------------


def test_the_count_changes_after_someone_acknowledges(as_role, standard):
    before = section_rows(as_role("head").get(status_url(standard)))
    as_role("staff").post(f"/acknowledgements/revisions/{standard.pk}/")

    after_response = as_role("head").get(status_url(standard))
    after = section_rows(after_response)

    assert before["joho"] == (3, 0, 3)
    assert after["joho"] == (3, 1, 2)
    assert after["somuka"] == before["somuka"] == (1, 0, 1)
    acknowledged = people_rows(after_response)["staff_joho"]
    ack = Acknowledgement.objects.get(user__username="staff_joho")
    assert to_era(timezone.localtime(ack.acknowledged_at).date()) in acknowledged


def test_the_department_total_adds_up_its_sections(as_role, standard):
    as_role("staff_somuka").post(f"/acknowledgements/revisions/{standard.pk}/")

    response = as_role("head").get(status_url(standard))

    group = page(response).find("tr", cls="group")
    assert "総務部" in group.find("th").text
    cells = [td.text for td in group.find_all("td")]
    assert cells[:3] == ["5", "1", "4"]
    assert cells[3] == "20%"


# --- filters ---------------------------------------------------------------------------------


@pytest.fixture
def staff_acknowledged(as_role, standard):
    as_role("staff").post(f"/acknowledgements/revisions/{standard.pk}/")


def test_the_section_filter_lists_the_people_of_that_section(as_role, org, standard):
    response = as_role("head").get(status_url(standard, f"?section={org['somuka'].pk}"))

    assert set(people_rows(response)) == {"staff_somuka"}
    assert "総務課" in page(response).find_all("h2")[1].text


def test_the_section_rows_link_to_their_pending_people(as_role, org, standard):
    response = as_role("head").get(status_url(standard))

    assert f"?section={org['joho'].pk}&state=pending" in links(response)


def test_the_state_filter_separates_the_acknowledged_from_the_others(
    as_role, standard, staff_acknowledged
):
    client = as_role("head")

    done = people_rows(client.get(status_url(standard, "?state=done")))
    pending = people_rows(client.get(status_url(standard, "?state=pending")))

    assert set(done) == {"staff_joho"}
    assert set(pending) == SOMUBU_PEOPLE - {"staff_joho"}


def test_section_and_state_filters_combine(as_role, org, standard, staff_acknowledged):
    response = as_role("ciso").get(status_url(standard, f"?section={org['joho'].pk}&state=pending"))

    assert set(people_rows(response)) == {"chief_joho", "admin"}


def test_a_section_outside_the_viewers_departments_cannot_be_chosen(as_role, org, standard):
    response = as_role("head").get(status_url(standard, f"?section={org['gakko'].pk}"))

    assert response.status_code == 404
    assert "staff_kyoiku" not in response.content.decode()


def test_an_unknown_state_shows_everyone_in_scope(as_role, standard):
    response = as_role("other_head").get(status_url(standard, "?state=whatever"))

    assert response.status_code == 200
    assert set(people_rows(response)) == KYOIKUBU_PEOPLE


# --- CSV export -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(SCOPE))
def test_the_csv_export_streams_the_people_in_the_viewers_scope_only(
    as_role, standard, staff_acknowledged, role
):
    response = as_role(role).get(status_url(standard, "?export=csv"))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="acknowledgements-standard-r1.csv"'
    )
    header, *rows = csv_rows(response)
    assert len(header) == 7
    assert {row[2] for row in rows} == SCOPE[role][1]
    assert len(rows) == len(SCOPE[role][1])


def test_the_csv_export_carries_the_time_and_fingerprint_of_each_acknowledgement(
    as_role, standard, staff_acknowledged
):
    response = as_role("head").get(status_url(standard, "?export=csv"))

    _header, *rows = csv_rows(response)
    by_name = {row[2]: row for row in rows}
    ack = Acknowledgement.objects.get(user__username="staff_joho")
    department, section, _user, name, at, number, sha = by_name["staff_joho"]
    assert (department, section, name) == ("総務部", "情報政策課", "staff_joho さん")
    # In the reader's language: the Japanese era and Japan time, to the second.
    local = timezone.localtime(ack.acknowledged_at)
    assert at == f"{to_era(local.date())} {local:%H:%M:%S}"
    assert number == "1"
    assert sha == standard.content_sha256
    assert by_name["staff_somuka"][4:] == ["", "1", ""]


def test_the_csv_export_follows_the_filters(as_role, org, standard, staff_acknowledged):
    client = as_role("admin")

    done = csv_rows(client.get(status_url(standard, "?state=done&export=csv")))[1:]
    somuka = csv_rows(client.get(status_url(standard, f"?section={org['somuka'].pk}&export=csv")))

    assert [row[2] for row in done] == ["staff_joho"]
    assert [row[2] for row in somuka[1:]] == ["staff_somuka"]


def test_the_page_offers_the_csv_download_with_the_current_filters(as_role, standard):
    response = as_role("head").get(status_url(standard, "?state=pending"))

    assert "?state=pending&export=csv" in links(response)


@pytest.mark.parametrize("role", ["anonymous", "staff", "other_staff"])
def test_the_csv_export_is_refused_to_those_who_oversee_nothing(as_role, standard, role):
    path = status_url(standard, "?export=csv")

    response = as_role(role).get(path)

    if role == "anonymous":
        assert is_login_redirect(response, path)
    else:
        assert response.status_code == 403
        assert not response.streaming


# --- the deadline -------------------------------------------------------------------------------


def deadline_url(revision):
    return f"/acknowledgements/status/{revision.pk}/deadline/"


def test_only_the_programme_admin_is_offered_the_deadline_form(as_role, standard):
    offered = {
        role: deadline_url(standard) in form_actions(as_role(role).get(status_url(standard)))
        for role in ("admin", "ciso", "auditor", "head")
    }

    assert offered == {"admin": True, "ciso": False, "auditor": False, "head": False}


def test_the_programme_admin_changes_the_deadline(as_role, standard):
    new = timezone.localdate() + datetime.timedelta(days=60)
    client = as_role("admin")

    response = client.post(deadline_url(standard), {"deadline": new.isoformat()})

    assert response.status_code == 302
    assert response["Location"] == status_url(standard)
    shown = client.get(response["Location"])
    assert messages(shown) == [("success", ja("Deadline changed."))]
    assert to_era(new) in page(shown).find("p", cls="meta").text
    assert AcknowledgementCampaign.objects.get(revision=standard).deadline == new


@pytest.mark.parametrize("role", [r for r in [*ROLES, "other_staff"] if r != "admin"])
def test_nobody_but_the_programme_admin_changes_the_deadline(as_role, standard, role):
    before = AcknowledgementCampaign.objects.get(revision=standard).deadline
    new = timezone.localdate() + datetime.timedelta(days=90)

    response = as_role(role).post(deadline_url(standard), {"deadline": new.isoformat()})

    if role == "anonymous":
        assert is_login_redirect(response, deadline_url(standard))
    else:
        assert response.status_code == 403
    assert AcknowledgementCampaign.objects.get(revision=standard).deadline == before


def test_a_deadline_in_the_past_is_refused_with_a_message(as_role, standard):
    before = AcknowledgementCampaign.objects.get(revision=standard).deadline
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = as_role("admin").post(
        deadline_url(standard), {"deadline": yesterday.isoformat()}, follow=True
    )

    assert messages(response) == [("error", ja("The deadline cannot lie in the past."))]
    assert to_era(before) in page(response).find("p", cls="meta").text
    assert AcknowledgementCampaign.objects.get(revision=standard).deadline == before


def test_a_deadline_that_is_not_a_date_is_refused_with_a_message(as_role, standard):
    before = AcknowledgementCampaign.objects.get(revision=standard).deadline

    response = as_role("admin").post(deadline_url(standard), {"deadline": "来月末"}, follow=True)

    assert messages(response) == [("error", ja("Enter a valid date."))]
    assert AcknowledgementCampaign.objects.get(revision=standard).deadline == before


def test_the_deadline_of_a_superseded_revisions_campaign_cannot_change(
    as_role, documents, people, standard
):
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="## 新")
    before = AcknowledgementCampaign.objects.get(revision=standard).deadline
    new = timezone.localdate() + datetime.timedelta(days=60)

    response = as_role("admin").post(
        deadline_url(standard), {"deadline": new.isoformat()}, follow=True
    )

    assert [level for level, _text in messages(response)] == ["error"]
    assert AcknowledgementCampaign.objects.get(revision=standard).deadline == before


# --- the number of queries does not grow with the number of staff ---------------------------------

# Measured once and pinned: a page that starts querying per person or per section fails here
# long before it is slow in a city of 3,000 staff.
# Two of them are the page shell's: the unread-notification badge and the person's roles,
# read once for every link of the menu. The people listed are counted from the per-section
# figures (isms.paging.GroupedPaginator): no count of their own.
STATUS_PAGE_QUERIES = 11
PENDING_LIST_QUERIES = 6


@pytest.fixture(params=[10, 300], ids=["10-extra-staff", "300-extra-staff"])
def crowd(request, org, standard):
    """`size` extra staff spread over three sections, every other one having acknowledged."""
    size = request.param
    sections = [org["joho"], org["somuka"], org["gakko"]]
    users = User.objects.bulk_create(
        User(
            username=f"extra{i:04d}",
            display_name=f"追加職員{i}",
            section=sections[i % len(sections)],
            password=password_hash(),
        )
        for i in range(size)
    )
    acknowledged = users[::2]
    Acknowledgement.objects.bulk_create(
        Acknowledgement(
            user=user,
            revision=standard,
            content_sha256=standard.content_sha256,
            acknowledged_at=timezone.now(),
        )
        for user in acknowledged
    )
    done = {}
    for user in acknowledged:
        done[user.section.code] = done.get(user.section.code, 0) + 1
    return {"size": size, "done": done}


@pytest.mark.parametrize("role", ["admin", "head", "chief"])
def test_the_status_page_needs_the_same_number_of_queries_for_10_or_300_more_staff(
    as_role, standard, crowd, role, django_assert_max_num_queries
):
    client = as_role(role)

    with django_assert_max_num_queries(STATUS_PAGE_QUERIES):
        response = client.get(status_url(standard))

    assert response.status_code == 200
    rows = section_rows(response)
    # The page did count the crowd, not just the personas.
    assert rows["joho"][1] == crowd["done"]["joho"]
    if role != "chief":
        assert rows["somuka"][1] == crowd["done"]["somuka"]


def test_the_filtered_status_page_needs_the_same_number_of_queries(
    as_role, org, standard, crowd, django_assert_max_num_queries
):
    client = as_role("admin")

    with django_assert_max_num_queries(STATUS_PAGE_QUERIES + 1):
        response = client.get(status_url(standard, f"?section={org['gakko'].pk}&state=done"))

    assert len(people_rows(response)) == min(crowd["done"]["gakko"], 50)


@pytest.mark.parametrize("path", ["/acknowledgements/", "/"])
def test_the_pending_list_needs_the_same_number_of_queries_for_10_or_300_more_staff(
    as_role, standard, procedure, crowd, path, django_assert_max_num_queries
):
    client = as_role("staff")

    with django_assert_max_num_queries(PENDING_LIST_QUERIES):
        response = client.get(path)

    assert response.status_code == 200
    panel = page(response).find(testid="pending-panel")
    assert len(panel.find_all("li")) == 2
