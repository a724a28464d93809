"""The acknowledgement status as it stood on a past day counts that day's staff: a leaver's
acknowledgement still counts for the time they were staff, a mover is counted in the unit
they were in that day, and neither reaches a head who did not oversee them then."""

import datetime

from django.utils import timezone

from acknowledgements import services as acks
from acknowledgements.models import Acknowledgement
from isms.models import Posting, User
from isms.personnel.apply import deactivate

from .factories import UserFactory
from .pages import page

YESTERDAY = datetime.timedelta(days=1)


def counts(departments):
    return {row.section.code: (row.total, row.done) for d in departments for row in d.sections}


def acknowledge(user, revision):
    Acknowledgement.objects.create(
        user=user, revision=revision, content_sha256=revision.content_sha256
    )


def a_person_since_last_april(section, username):
    return UserFactory(username=username, section=section, joined_on=datetime.date(2026, 4, 1))


def test_a_leavers_acknowledgement_counts_on_the_days_they_were_staff_but_not_after(
    people, org, standard
):
    leaver = a_person_since_last_april(org["gakko"], "leaver")
    acknowledge(leaver, standard)
    today = timezone.localdate()
    head = people["other_head"]
    current_before = counts(acks.status_by_department(standard, head))
    today_before = counts(acks.status_on(standard, head, today))
    leaver.left_on = today  # their last working day
    leaver.save()
    assert deactivate(leaver)

    assert not User.objects.get(pk=leaver.pk).is_active
    assert Posting.objects.get(user=leaver).valid_until == today
    current = counts(acks.status_by_department(standard, head))
    assert current["gakko"] == (current_before["gakko"][0] - 1, current_before["gakko"][1] - 1)
    # On their last day they were staff, and their acknowledgement counts.
    assert counts(acks.status_on(standard, head, today)) == today_before
    assert today_before["gakko"][1] >= 1
    assert Acknowledgement.objects.filter(user=leaver, revision=standard).exists()


def test_a_mover_is_counted_where_they_were_on_that_day(people, org, standard):
    today, admin = timezone.localdate(), people["admin"]

    def totals(day):
        return {
            code: total
            for code, (total, _done) in counts(acks.status_on(standard, admin, day)).items()
        }

    yesterday_before, today_before = totals(today - YESTERDAY), totals(today)
    mover = a_person_since_last_april(org["gakko"], "mover")
    mover.section = org["somuka"]
    mover.save()  # a move one person at a time opens a posting from today

    current = Posting.objects.get(user=mover, valid_until__isnull=True)
    assert (current.unit_id, current.valid_from) == (org["somuka"].pk, today)
    yesterday, now = totals(today - YESTERDAY), totals(today)
    assert yesterday.get("gakko", 0) == yesterday_before.get("gakko", 0) + 1
    assert yesterday.get("somuka", 0) == yesterday_before.get("somuka", 0)
    assert now["gakko"] == today_before["gakko"]
    assert now["somuka"] == today_before["somuka"] + 1


def test_the_head_of_the_old_department_no_longer_sees_a_mover_today_but_did_before(
    people, org, standard
):
    mover = a_person_since_last_april(org["gakko"], "mover")
    head = people["other_head"]  # 教育部
    before = counts(acks.status_on(standard, head, timezone.localdate() - YESTERDAY))
    mover.section = org["somuka"]
    mover.save()

    assert "somuka" not in counts(acks.status_by_department(standard, head))
    assert counts(acks.status_on(standard, head, timezone.localdate() - YESTERDAY)) == before
    assert mover not in acks.people_status(standard, head)


def test_the_status_page_shows_a_past_day_on_request_and_names_a_bad_date(
    as_role, people, org, standard
):
    a_person_since_last_april(org["gakko"], "veteran")
    client = as_role("other_head")
    day = timezone.localdate() - YESTERDAY
    response = client.get(f"/acknowledgements/status/{standard.pk}/?on={day.isoformat()}")
    assert response.status_code == 200
    html = page(response)
    assert html.find(testid="status-on") is not None
    assert html.find("tr", data_section="gakko") is not None

    bad = client.get(f"/acknowledgements/status/{standard.pk}/?on=2026-13-45")
    assert bad.status_code == 200
    assert page(bad).find(testid="status-on") is None
    assert page(bad).find(testid="status-on-form").find(role="alert") is not None
