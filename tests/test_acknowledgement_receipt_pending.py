"""The receipt after acknowledging says what is still pending (issue 12): the person's other
revisions awaiting acknowledgement, named with their number, effective date and deadline,
each a link to read it; or that nothing else waits."""

from acknowledgements.models import Acknowledgement
from acknowledgements.services import acknowledge
from isms.eras import to_era

from .pages import page


def read_url(revision):
    return f"/acknowledgements/revisions/{revision.pk}/"


def test_after_acknowledging_one_the_receipt_lists_the_others_still_pending(
    as_role, standard, procedure
):
    client = as_role("staff")

    response = client.post(read_url(standard), follow=True)

    panel = page(response).find(testid="pending-panel")
    items = panel.find_all(testid="pending-revision")
    assert len(items) == 1
    link = items[0].find("a")
    assert link.attrs["href"] == read_url(procedure)
    assert link.text == f"運用手順 第1版（{to_era(procedure.effective_date)}施行）"
    deadline = procedure.campaign.deadline
    assert f"確認期限：{to_era(deadline)}" in items[0].text
    assert "ほかに確認を待っている文書" in panel.find("h2").text


def test_after_the_last_one_the_receipt_says_nothing_else_waits(
    as_role, people, standard, procedure
):
    acknowledge(people["staff"], procedure)
    client = as_role("staff")

    response = client.post(read_url(standard), follow=True)

    panel = page(response).find(testid="pending-panel")
    assert panel.find_all(testid="pending-revision") == []
    assert panel.find(testid="nothing-pending").text == "ほかに確認を待っている文書はありません。"


def test_someone_reading_another_persons_receipt_is_not_told_what_that_person_has_left(
    as_role, people, standard, procedure
):
    ack, _created = acknowledge(people["staff"], standard)

    response = as_role("admin").get(f"/acknowledgements/receipts/{ack.pk}/")

    assert response.status_code == 200
    assert page(response).find(testid="receipt") is not None
    assert page(response).find(testid="pending-panel") is None


def test_the_receipt_reads_a_bounded_number_of_queries(
    as_role, people, standard, procedure, django_assert_max_num_queries
):
    ack, _created = acknowledge(people["staff"], standard)
    client = as_role("staff")

    with django_assert_max_num_queries(20):
        response = client.get(f"/acknowledgements/receipts/{ack.pk}/")

    assert response.status_code == 200
    assert Acknowledgement.objects.filter(user=people["staff"]).count() == 1
