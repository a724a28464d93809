"""The audit trail as people read it (issue 12): each event a sentence in the reader's
language, what changed as a small table, filters as selects and date inputs, a wrong filter
value a field error with the form kept, the same readers as before, and a bounded number of
queries however long the trail."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from assets import services as asset_services
from isms import audit
from isms.eras import to_era
from isms.models import AuditAction, AuditEvent

from .conftest import ROLES
from .pages import is_login_redirect, page

READERS = {"admin", "ciso", "auditor"}


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def events(response):
    """(action code, sentence, event card) of each event listed."""
    trail = page(response).find("ol", testid="audit-trail")
    if trail is None:
        return []
    return [
        (li.attrs["data-action"], li.find(testid="event-sentence").text, li)
        for li in trail.find_all("li", testid="event")
    ]


def changes(card):
    """(field, before, after) rows of an event's table of what changed."""
    table = card.find("table", testid="event-changes")
    if table is None:
        return []
    return [
        (tr.find("th").text, *(td.text for td in tr.find_all("td")))
        for tr in table.find("tbody").find_all("tr")
    ]


def details(card):
    dl = card.find("dl", testid="event-details")
    if dl is None:
        return {}
    return {div.find("dt").text: div.find("dd").text for div in dl.find_all("div")}


@pytest.fixture
def reclassified(register, people, catalogue):
    """The head of 総務部 raised the confidentiality of 庁内グループウェア from 2 to 3."""
    asset = register["joho_confidential"]
    levels = catalogue["levels"]
    asset_services.update_asset(
        asset,
        by=people["head"],
        reason="個人情報を扱うため",
        confidentiality=levels[("confidentiality", "3")],
    )
    return asset, levels[("confidentiality", "2")], levels[("confidentiality", "3")]


# --- who may read it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_the_admin_the_ciso_and_the_auditor_read_the_trail_whatever_the_filters(
    as_role, documents, role
):
    url = "/audit-trail/?action=revision.published&since=2020-01-01"
    response = as_role(role).get(url)

    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif role in READERS:
        assert response.status_code == 200
        assert [action for action, _, _ in events(response)] == ["revision.published"] * 3
    else:
        assert response.status_code == 403
        assert page(response).find("ol", testid="audit-trail") is None
        assert "しました。" not in response.content.decode()


@pytest.mark.parametrize("role", sorted(set(ROLES) - READERS - {"anonymous"}))
def test_a_bad_filter_value_tells_a_non_reader_nothing_more_than_no(as_role, documents, role):
    response = as_role(role).get("/audit-trail/?since=令和八年&actor=nobody")

    assert response.status_code == 403
    assert page(response).find(testid="error-summary") is None


# --- each event a sentence ---------------------------------------------------------------------


def test_a_reclassification_reads_as_a_sentence_with_a_table_of_what_changed(as_role, reclassified):
    asset, before, after = reclassified

    response = as_role("auditor").get("/audit-trail/?action=asset.classified")

    ((action, sentence, card),) = events(response)
    assert sentence == f"head_somu さんが情報資産「{asset.name}」の分類を変更しました。"
    assert changes(card) == [("機密性", str(before), str(after))]
    assert details(card) == {"理由": "個人情報を扱うため"}


def test_the_same_event_reads_in_english_for_an_english_reader(as_role, reclassified):
    asset, before, after = reclassified

    response = in_english(as_role("ciso")).get("/audit-trail/?action=asset.classified")

    ((_, sentence, card),) = events(response)
    assert sentence == (
        f"head_somu さん changed the classification of information asset “{asset.name}”."
    )
    assert changes(card) == [("confidentiality", str(before), str(after))]
    assert details(card) == {"Reason": "個人情報を扱うため"}


def test_a_publication_names_the_date_it_comes_into_force_in_the_readers_calendar(
    as_role, documents
):
    revision = documents["standard"].current_revision()
    era = revision.effective_date
    japanese = events(as_role("admin").get("/audit-trail/?action=revision.published"))
    english = events(in_english(as_role("admin")).get("/audit-trail/?action=revision.published"))

    sentence = next(s for _, s, _ in japanese if "対策基準" in s)
    assert sentence.startswith("admin さんがポリシー改定版「")
    assert sentence.endswith(f"を公開しました（{to_era(era)}から施行）。")
    sentence = next(s for _, s, _ in english if "対策基準" in s)
    assert sentence.endswith(f", in force from {era.day} {era:%B %Y}.")


def test_details_are_named_values_never_a_python_dict(as_role, documents, people):
    revision = documents["standard"].current_revision()
    as_role("staff").post(f"/acknowledgements/revisions/{revision.pk}/")

    response = as_role("auditor").get("/audit-trail/?action=revision.acknowledged")

    ((_, sentence, card),) = events(response)
    assert sentence.startswith("staff_joho さんがポリシー改定版「")
    assert sentence.endswith("を確認しました。")
    assert details(card)["SHA-256"] == revision.content_sha256
    trail = page(response).find("ol", testid="audit-trail").text
    assert "{" not in trail and "'sha256'" not in trail


def test_an_event_of_the_system_and_a_failed_sign_in_read_as_sentences(as_role, people):
    audit.record(AuditAction.SIGNIN_FAILED, data={"username": "tanaka"})
    audit.record(AuditAction.PERMISSIONS_SYNCED, target=people["staff"], data={"granted": []})

    listed = {}
    for action, sentence, _ in events(as_role("admin").get("/audit-trail/")):
        listed.setdefault(action, sentence)  # the newest of each action: these

    assert listed["signin.failed"] == "ユーザー名「tanaka」でのサインインに失敗しました。"
    assert listed["permissions.synced"] == (
        "staff_joho さんの部局の権限を役割に合わせて更新しました。"
    )


def test_an_action_without_a_sentence_still_reads_as_one(as_role, people):
    # An event of an action named before the trail had sentences for it (written directly:
    # record() accepts only the actions of today).
    AuditEvent.objects.create(
        actor=people["ciso"],
        actor_name="ciso",
        action="legacy.exported",
        target_type="isms.user",
        target_id=str(people["staff"].pk),
        target_repr=str(people["staff"]),
        data={"rows": 12},
    )

    listed = events(as_role("admin").get("/audit-trail/"))

    ((action, sentence, card),) = [event for event in listed if event[0] == "legacy.exported"]
    assert sentence == "ciso さん：legacy.exported（staff_joho さん）。"
    assert details(card) == {"行数": "12"}


# --- filters -------------------------------------------------------------------------------------


def test_the_filters_are_selects_a_person_field_and_date_inputs(as_role, documents):
    form = page(as_role("admin").get("/audit-trail/")).find("form", testid="audit-filters")

    action = form.find("select", name="action")
    labels = {o.attrs["value"]: o.text for o in action.find_all("option")}
    assert labels[""] == "すべての操作"
    assert labels["revision.published"] == "改定版の公開"
    assert set(labels) == {"", *AuditAction.values}
    kinds = {o.attrs["value"]: o.text for o in form.find("select", name="target_type").iter()}
    assert kinds["isms.policyrevision"] == "ポリシー改定版"
    assert form.find("input", name="actor") is not None
    assert any(label.attrs.get("for") == "id_actor" for label in form.find_all("label"))
    assert form.find("input", name="since").attrs["type"] == "date"
    assert form.find("input", name="until").attrs["type"] == "date"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=令和八年", "since"),
        ("until=2026-13-40", "until"),
        ("since=0001-01-01", "since"),
        ("action=revision", "action"),
        ("action=revision.forged", "action"),
        ("actor=nobody", "actor"),
        ("target_type=isms.nothing", "target_type"),
        ("since=2026-04-02&until=2026-04-01", "until"),
    ],
)
def test_a_wrong_filter_value_is_a_field_error_in_the_summary_and_the_form_keeps_it(
    as_role, documents, query, field
):
    response = as_role("auditor").get(f"/audit-trail/?{query}")

    assert response.status_code == 200
    form = page(response).find("form", testid="audit-filters")
    assert form.find("p", cls="error", id=f"id_{field}_error") is not None
    summary = page(response).find(testid="error-summary")
    assert f"#id_{field}" in [a.attrs.get("href") for a in summary.find_all("a")]
    # Nothing is listed rather than everything, which would look filtered.
    assert events(response) == []
    assert page(response).find(testid="no-events") is not None
    for pair in query.split("&"):
        name, value = pair.split("=")
        kept = form.find(name=name)
        if kept.tag == "select":
            chosen = [o for o in kept.find_all("option") if "selected" in o.attrs]
            assert not chosen or chosen[0].attrs["value"] in ("", value)
        else:
            assert kept.attrs["value"] == value


def test_the_actor_filter_takes_a_user_name_and_lists_that_persons_events(
    as_role, documents, people
):
    listed = events(as_role("auditor").get("/audit-trail/?actor=ciso"))

    assert len(listed) == AuditEvent.objects.filter(actor=people["ciso"]).count() > 0
    assert all(sentence.startswith("ciso さんが") for _, sentence, _ in listed)


def test_the_date_filters_take_iso_dates_from_the_date_inputs(as_role, documents):
    today = timezone.localdate()
    client = as_role("admin")

    assert events(client.get(f"/audit-trail/?since={today}&until={today}"))
    assert events(client.get(f"/audit-trail/?until={today - datetime.timedelta(days=1)}")) == []


# --- on a phone, and bounded ---------------------------------------------------------------------


def test_each_event_is_a_card_and_a_table_of_changes_scrolls_in_its_own_box(as_role, reclassified):
    response = as_role("admin").get("/audit-trail/")

    trail = page(response).find("ol", testid="audit-trail")
    assert all("card" in li.classes for li in trail.find_all("li"))
    wrap = trail.find("table", testid="event-changes").parent
    assert "table-wrap" in wrap.classes
    assert wrap.attrs["tabindex"] == "0" and wrap.attrs["role"] == "region"
    assert wrap.attrs["aria-label"] == "変更内容"


def test_the_page_reads_a_fixed_number_of_queries_however_many_events(
    as_role, documents, people, django_assert_max_num_queries
):
    for n in range(120):
        audit.record(
            AuditAction.TOKEN_REVOKED if n % 2 else AuditAction.ROLE_ASSIGNED,
            actor=people["admin" if n % 3 else "ciso"],
            target=people["staff"],
            data={"name": f"token {n}", "role": "auditor", "department": None},
        )
    client = as_role("auditor")

    with django_assert_max_num_queries(12):
        response = client.get("/audit-trail/?since=2020-01-01")
    with django_assert_max_num_queries(12):
        client.get("/audit-trail/?page=2&actor=admin")

    assert len(events(response)) == 50
