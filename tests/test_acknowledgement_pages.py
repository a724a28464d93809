"""Staff acknowledging the policy: what awaits them, the read-and-confirm page, the receipt."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from isms.eras import to_era

from .conftest import publish
from .pages import diff_blocks, is_login_redirect, links, messages, page

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) TestBrowser/1.0"
ADDRESS = "192.0.2.10"


def pending_links(response):
    """The revisions the pending panel asks the person to read, as read-page addresses."""
    panel = page(response).find(testid="pending-panel")
    assert panel is not None, "the page shows no pending panel"
    return [a.attrs["href"] for a in panel.find_all("a")]


def read_url(revision):
    return f"/acknowledgements/revisions/{revision.pk}/"


def era_datetime(value):
    local = timezone.localtime(value)
    return f"{to_era(local.date())} {local:%H:%M}"


# --- what awaits whom ------------------------------------------------------------------------


def test_the_pending_list_shows_staff_every_revision_awaiting_them(as_role, standard, procedure):
    response = as_role("staff").get("/acknowledgements/")

    assert response.status_code == 200
    assert sorted(pending_links(response)) == sorted([read_url(standard), read_url(procedure)])
    panel = page(response).find(testid="pending-panel").text
    assert "対策基準" in panel and "運用手順" in panel
    deadline = AcknowledgementCampaign.objects.get(revision=standard).deadline
    assert to_era(deadline) in panel


def test_the_pending_list_of_another_department_leaves_out_the_somubu_procedure(
    as_role, standard, procedure
):
    response = as_role("other_staff").get("/acknowledgements/")

    assert pending_links(response) == [read_url(standard)]
    assert "運用手順" not in response.content.decode()


def test_an_editorial_revision_asks_nobody_for_an_acknowledgement(as_role, documents):
    basic = documents["basic"].current_revision()

    response = as_role("staff").get("/acknowledgements/")

    assert read_url(basic) not in pending_links(response)
    assert as_role("staff").get(read_url(basic)).status_code == 404


def test_an_overdue_acknowledgement_is_marked_overdue(as_role, standard, procedure):
    AcknowledgementCampaign.objects.filter(revision=standard).update(
        deadline=timezone.localdate() - datetime.timedelta(days=1)
    )

    panel = page(as_role("staff").get("/acknowledgements/")).find(testid="pending-panel")

    items = {li.find("a").attrs["href"]: li for li in panel.find_all("li")}
    assert items[read_url(standard)].find("span", cls="overdue") is not None
    assert items[read_url(procedure)].find("span", cls="overdue") is None


def test_the_pending_list_needs_a_login(client, documents):
    assert is_login_redirect(client.get("/acknowledgements/"), "/acknowledgements/")


def test_an_acknowledged_revision_leaves_the_pending_list_for_the_receipts(as_role, standard):
    client = as_role("staff")
    client.post(read_url(standard))

    response = client.get("/acknowledgements/")

    assert read_url(standard) not in pending_links(response)
    ack = Acknowledgement.objects.get(user__username="staff_joho", revision=standard)
    assert f"/acknowledgements/receipts/{ack.pk}/" in links(response)


# --- the home page -----------------------------------------------------------------------------


def test_the_home_page_lists_what_awaits_the_user(as_role, standard, procedure):
    response = as_role("staff").get("/")

    assert response.status_code == 200
    assert sorted(pending_links(response)) == sorted([read_url(standard), read_url(procedure)])


def test_the_home_page_of_another_department_lists_only_what_concerns_it(
    as_role, standard, procedure
):
    assert pending_links(as_role("other_staff").get("/")) == [read_url(standard)]


def test_the_home_page_shows_nothing_pending_once_everything_is_acknowledged(as_role, standard):
    client = as_role("other_staff")
    client.post(read_url(standard))

    response = client.get("/")

    panel = page(response).find(testid="pending-panel")
    assert panel.find_all("li") == []
    assert pending_links(response) == []


def test_an_anonymous_visitor_of_the_home_page_is_sent_to_the_public_policy(client, documents):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/policy/"


# --- reading and acknowledging --------------------------------------------------------------------


def test_the_read_page_shows_the_text_and_the_button(as_role, standard):
    response = as_role("staff").get(read_url(standard))

    assert response.status_code == 200
    assert "職員向けの基準" in page(response).find("div", cls="policy-body").text
    assert page(response).find("button", testid="acknowledge") is not None
    # Nothing acknowledged before: nothing to compare with.
    assert page(response).find(testid="diff") is None


@pytest.fixture
def standard_v2(documents, people, standard):
    """Revision 2 of the standard, published after staff acknowledged revision 1."""
    from acknowledgements.services import acknowledge

    acknowledge(people["staff"], standard)
    return publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n職員向けの基準\n\n第2条 USBメモリの使用は許可制とする。",
    )


def test_the_read_page_shows_what_changed_since_the_revision_the_user_acknowledged(
    as_role, standard_v2
):
    response = as_role("staff").get(read_url(standard_v2))

    assert response.status_code == 200
    blocks = diff_blocks(response)
    assert ("added", "第2条 USBメモリの使用は許可制とする。") in blocks
    assert ("same", "職員向けの基準") in blocks
    legend = page(response).find(testid="diff-legend").text
    assert "第1版" in legend and "第2版" in legend


def test_someone_who_never_acknowledged_the_earlier_revision_sees_no_diff(as_role, standard_v2):
    response = as_role("staff_somuka").get(read_url(standard_v2))

    assert response.status_code == 200
    assert page(response).find(testid="diff") is None
    assert "USBメモリ" in page(response).find("div", cls="policy-body").text


def test_acknowledging_leads_to_a_receipt_with_everything_that_proves_it(as_role, standard):
    client = as_role("staff")

    response = client.post(read_url(standard), REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=BROWSER)

    ack = Acknowledgement.objects.get(user__username="staff_joho", revision=standard)
    assert response.status_code == 302
    assert response["Location"] == f"/acknowledgements/receipts/{ack.pk}/"
    receipt = client.get(response["Location"])
    assert messages(receipt)[0][0] == "success"
    facts = page(receipt).find(testid="receipt").text
    assert "第1版" in facts
    assert to_era(standard.effective_date) in facts
    assert standard.content_sha256 in facts
    assert len(standard.content_sha256) == 64
    assert era_datetime(ack.acknowledged_at) in facts
    assert ADDRESS in facts
    assert BROWSER in facts
    assert "staff_joho" in facts and "情報政策課" in facts
    assert f"/policies/standard/revisions/{standard.number}/" in links(receipt)


def test_the_receipt_links_to_a_revision_page_that_opens(as_role, standard):
    client = as_role("staff")
    receipt = client.post(read_url(standard), follow=True)

    facts = page(receipt).find(testid="receipt")
    revision_links = [a.attrs["href"] for a in facts.find_all("a")]
    assert revision_links == ["/policies/standard/revisions/1/"]
    assert client.get(revision_links[0]).status_code == 200


def test_acknowledging_twice_leaves_one_record(as_role, standard):
    client = as_role("staff")

    first = client.post(read_url(standard))
    second = client.post(read_url(standard))

    assert Acknowledgement.objects.filter(revision=standard).count() == 1
    assert first["Location"] == second["Location"]


def test_the_read_page_of_an_acknowledged_revision_goes_to_the_receipt(as_role, standard):
    client = as_role("staff")
    receipt = client.post(read_url(standard))["Location"]

    assert client.get(read_url(standard))["Location"] == receipt


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_somubu_procedure_is_404_for_staff_of_another_department(as_role, procedure, method):
    response = getattr(as_role("other_staff"), method)(read_url(procedure))

    assert response.status_code == 404
    assert "総務部だけの手順" not in response.content.decode()
    assert not Acknowledgement.objects.filter(revision=procedure).exists()


def test_the_read_page_needs_a_login(client, standard):
    path = read_url(standard)

    assert is_login_redirect(client.get(path), path)
    assert is_login_redirect(client.post(path), path)
    assert not Acknowledgement.objects.exists()


def test_a_superseded_revision_can_no_longer_be_acknowledged(as_role, documents, people):
    first = documents["standard"].current_revision()
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="## 新")

    client = as_role("staff_somuka")
    assert client.get(read_url(first)).status_code == 404
    assert client.post(read_url(first)).status_code == 404
    assert not Acknowledgement.objects.filter(revision=first).exists()


def test_a_revision_without_a_campaign_or_that_does_not_exist_is_404(as_role, documents):
    assert as_role("staff").get("/acknowledgements/revisions/999999/").status_code == 404


# --- receipts are private -------------------------------------------------------------------


@pytest.fixture
def somuka_receipt(as_role, standard):
    as_role("staff_somuka").post(read_url(standard))
    ack = Acknowledgement.objects.get(user__username="staff_somuka")
    return f"/acknowledgements/receipts/{ack.pk}/"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 404),
        ("chief", 404),
        ("head", 404),
        ("other_head", 404),
        ("auditor", 200),
        ("ciso", 200),
        ("admin", 200),
        ("staff_somuka", 200),
    ],
)
def test_a_receipt_is_for_its_owner_and_the_citywide_oversight_roles(
    as_role, somuka_receipt, role, status
):
    response = as_role(role).get(somuka_receipt)

    assert response.status_code == status
    content = response.content.decode()
    assert ("staff_somuka" in content) == (status == 200)


def test_a_receipt_needs_a_login(as_role, somuka_receipt):
    response = as_role("anonymous").get(somuka_receipt)

    assert is_login_redirect(response, somuka_receipt)
