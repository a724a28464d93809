"""Every HTML form of the portal, sent hostile values: a NUL character, a non-ASCII digit
("²", which str.isdigit() accepts), 100,000 characters and bytes that are not UTF-8. The
portal answers each with a page or a redirect, never a server error, and a value it cannot
store (NUL) changes nothing at all: no row is added or removed anywhere.

The forms are not written down field by field: each test opens the page a person uses,
reads the forms on it and posts every field of them. FORMS names, for each URL of the
portal that a form is sent to, who sends it and from which page; every other URL is listed
in NO_FORM. A new URL, or a form on one of these pages that sends to a URL not in FORMS,
fails the tests until it is listed.
"""

import datetime
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from audits import services as audit_services
from audits.models import Answer, Finding
from isms import policy_actions
from isms.eras import fiscal_year
from training.models import Choice, Course, Question
from training.services import publish_course

from .audit_helpers import answer_all, inspection, open_cycle, record_finding, upload

NUL = "before\x00after"
SUPERSCRIPT_TWO = "²"
# 100,000 characters, one of them outside ASCII (a length limit counts characters).
LONG = "x" * 99_999 + "字"
NOT_UTF8 = b"\xff\xfe\xc3\x28"
HOSTILE = {"nul": NUL, "superscript": SUPERSCRIPT_TWO, "long": LONG, "not-utf8": NOT_UTF8}

# Django admin, the API and the static files have their own tests.
OUTSIDE = ("admin/", "api/", "static/")


@pytest.fixture
def world(client, people, documents, register, org, settings, tmp_path):
    """One of everything a form acts on, and the page (with its URL) that shows it."""
    settings.MEDIA_ROOT = tmp_path
    # A second session of staff's, for the session list's forms; and a reset link followed
    # by the test's client, whose session then holds the token the set-password form needs.
    Client().force_login(people["staff"])
    reset_link = reverse(
        "password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(people["staff"].pk)),
            default_token_generator.make_token(people["staff"]),
        ],
    )
    set_password = client.get(reset_link)["Location"]
    admin = people["admin"]
    draft = policy_actions.create_draft(
        documents["standard"], by=admin, body="## 第1章\n\n改定案", change_summary="改定"
    )
    in_review = policy_actions.create_draft(
        documents["procedure"],
        by=admin,
        body="## 手順\n\n改定案",
        change_summary="改定",
        effective_date=timezone.localdate(),
    )
    policy_actions.submit_for_review(in_review, by=admin)
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=admin)
    somu = inspection(cycle, org["somu"])
    item = cycle.checklist.items.order_by("pk").first()
    audit_services.save_answers(somu, {item.pk: ("not_compliant", "記録なし")}, by=people["head"])
    answer = Answer.objects.get(inspection=somu, item=item)
    # 教育部's checklist answered in full, for the summary's submit form.
    kyoiku = inspection(cycle, org["kyoiku"])
    answer_all(kyoiku, by=people["other_head"])
    finding = record_finding(cycle, org["somu"], by=people["auditor"], needs_policy_review=True)
    audit_services.attach_evidence(upload(), by=people["auditor"], finding=finding)
    submitted = inspection(open_cycle(people, [org["somu"]], name="令和7年度 監査"), org["somu"])
    answer_all(submitted, by=people["head"])
    audit_services.submit(submitted, by=people["head"])
    audit_services.assign_auditor(submitted.cycle, org["somu"], people["auditor"], by=admin)
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ研修",
        content="## 目的",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        created_by=admin,
    )
    for n in (1, 2):
        question = Question.objects.create(course=course, text=f"問{n}", order=n)
        Choice.objects.create(question=question, text="正しい", is_correct=True)
        Choice.objects.create(question=question, text="誤り", is_correct=False)
    publish_course(course, by=admin)
    unpublished = Course.objects.create(
        title="未公開の研修",
        content="## 目的",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        created_by=admin,
    )
    asset = register["joho_confidential"]
    from assets import services as asset_services

    asset_services.add_relation(asset, "connects_to", register["joho_public"], by=people["chief"])
    standard = documents["standard"].current_revision()
    # A second factor of the admin's, for the form that removes it (isms/views/mfa.py).
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    from isms.tokens import issue_token

    issue_token(people["staff"], name="スクリプト")  # so that the token page has a revoke form
    # A checked personnel batch, for its schedule and cancel forms.
    from isms.personnel import services as personnel

    from .personnel_helpers import person, staff_file

    batch = personnel.upload_batch(staff_file([person("900001", "somuka")]), "staff", by=admin)
    personnel.check_batch(batch.pk)
    # Incidents: one being handled (with its PPC obligation), one recovered (for the review
    # form) and one dismissed (for the reopen form), handled by the programme admin.
    from incidents import services as incidents
    from incidents.models import Category

    def incident(title, **fields):
        reported = incidents.report(
            people["staff"],
            title=title,
            occurred_at=timezone.now() - datetime.timedelta(hours=2),
            department=org["joho"],
            **fields,
        )
        return reported

    mistake = Category.objects.get(code="mistake")
    handled = incidents.triage(
        incident("USBメモリ紛失", personal_data=True),
        by=admin,
        category=mistake,
        severity="medium",
        owner=admin,
    )
    recovered = incidents.triage(
        incident("誤送信"), by=admin, category=mistake, severity="low", owner=admin
    )
    for step in ("contained", "eradicated", "recovered"):
        recovered = incidents.move(recovered, step, by=admin)
    dismissed = incidents.move(incident("誤報"), "dismissed", by=admin, note="誤報")
    return {
        "draft": f"/manage/revisions/{draft.pk}/",
        "draft_edit": f"/manage/revisions/{draft.pk}/edit/",
        "in_review": f"/manage/revisions/{in_review.pk}/",
        "new_revision": "/manage/policies/standard/new/",
        "acknowledge": f"/acknowledgements/revisions/{standard.pk}/",
        "campaign": f"/acknowledgements/status/{standard.pk}/",
        "course": f"/training/courses/{course.pk}/",
        "unpublished_course": f"/training/courses/{unpublished.pk}/",
        "unpublished_course_edit": f"/training/courses/{unpublished.pk}/edit/",
        "course_preview": f"/training/courses/{course.pk}/preview/",
        "asset": f"/assets/{asset.pk}/",
        "asset_edit": f"/assets/{asset.pk}/edit/",
        "cycle": f"/audits/cycles/{cycle.pk}/",
        "inspection": f"/audits/inspections/{somu.pk}/",
        "inspection_part": f"/audits/inspections/{somu.pk}/parts/{item.area}/",
        "answered_inspection": f"/audits/inspections/{kyoiku.pk}/",
        "submitted_inspection": f"/audits/inspections/{submitted.pk}/",
        "answer": answer,
        "finding": f"/audits/findings/{finding.pk}/",
        "finding_obj": finding,
        "set_password": set_password,
        "personnel_batch": f"/people/imports/{batch.pk}/",
        "unit": f"/organisation/{org['joho'].code}/",
        "incident": f"/incidents/{handled.pk}/",
        "recovered_incident": f"/incidents/{recovered.pk}/",
        "dismissed_incident": f"/incidents/{dismissed.pk}/",
    }


# Django's own views, which ignore a value they do not know instead of refusing it.
DJANGO_OWN = {"logout", "set_language"}

# URL name the form is sent to -> (who sends it, the page that shows the form).
FORMS = {
    "login": ("anonymous", "/accounts/login/"),
    "logout": ("staff", "/"),
    "set_language": ("staff", "/"),
    "notifications-read": ("staff", "/notifications/"),
    "api-tokens": ("staff", "/accounts/tokens/"),
    "api-token-revoke": ("staff", "/accounts/tokens/"),
    "audit-trail": ("admin", "/audit-trail/"),
    "manage-revision-new": ("admin", "new_revision"),
    "manage-revision-edit": ("admin", "draft_edit"),
    "manage-revision-action": ("ciso", "in_review"),
    "ack-read": ("staff", "acknowledge"),
    "campaign-status": ("admin", "campaign"),
    "campaign-deadline": ("admin", "campaign"),
    "course-detail": ("staff", "course"),
    "course-publish": ("admin", "unpublished_course"),
    "course-new": ("admin", "/training/courses/new/"),
    "course-edit": ("admin", "unpublished_course_edit"),
    "course-preview": ("ciso", "course_preview"),
    "course-completion": ("admin", "/training/status/"),
    "asset-list": ("chief", "/assets/"),
    "asset-create": ("chief", "/assets/new/"),
    "asset-edit": ("chief", "asset_edit"),
    "asset-review": ("chief", "asset"),
    "asset-relation-add": ("chief", "asset"),
    "asset-relation-remove": ("chief", "asset"),
    "asset-import": ("chief", "/assets/import/"),
    "audit-cycle-create": ("auditor", "/audits/cycles/new/"),
    "audit-cycle-assign": ("admin", "cycle"),
    "audit-inspection-area": ("head", "inspection_part"),
    "audit-inspection-submit": ("other_head", "answered_inspection"),
    "audit-inspection-return": ("auditor", "submitted_inspection"),
    "audit-answer-finding": ("auditor", "inspection"),
    "audit-answer-evidence": ("head", "inspection_part"),
    "audit-finding": ("auditor", "finding"),
    "audit-finding-action": ("head", "finding"),
    "audit-finding-list": ("auditor", "/audits/findings/"),
    "policy-review-backlog": ("admin", "/policy-review/"),
    "password_change": ("staff", "/accounts/password/change/"),
    "password_reset": ("anonymous", "/accounts/password/reset/"),
    "password_reset_confirm": ("anonymous", "set_password"),
    "account-session-end": ("staff", "/accounts/sessions/"),
    "account-sessions-end-others": ("staff", "/accounts/sessions/"),
    # Two-step verification (isms/views/mfa.py)
    "mfa-totp": ("staff", "/mfa/totp/"),
    "mfa-verify": ("admin", "/mfa/verify/"),
    "mfa-recovery-codes": ("admin", "/mfa/"),
    "mfa-remove": ("admin", "/mfa/"),
    # People and organisation (isms/views/personnel.py)
    "personnel-batches": ("admin", "/people/imports/"),
    "personnel-batch-schedule": ("admin", "personnel_batch"),
    "personnel-batch-cancel": ("admin", "personnel_batch"),
    "unit-detail": ("admin", "unit"),
    # Incidents (incidents/views.py)
    "incident-report": ("staff", "/incidents/report/"),
    "incident-list": ("admin", "/incidents/"),
    "incident-action": ("admin", "incident"),
    "incident-obligation-decide": ("admin", "incident"),
    "incident-stage-advance": ("admin", "incident"),
    "incident-plan": ("admin", "/incidents/plan/"),
}
# Pages and downloads that no form is sent to (links and query strings are covered by
# the forms above where a form builds them).
NO_FORM = {
    "home",
    "dashboard",
    "import-job",
    "healthz",
    "public-policy",
    "document-list",
    "document-detail",
    "revision-diff",
    "revision-detail",
    "manage-index",
    "manage-revision",
    "notifications",
    "my-courses",
    "course-file",
    "course-certificate",
    "my-acknowledgements",
    "ack-receipt",
    "campaign-list",
    "asset-export",
    "asset-template",
    "asset-rules",
    "asset-reviews",
    "asset-detail",
    # The pickers' search endpoints, fetched by static/js/picker.js (tests/test_pickers_in_forms.py
    # sends them NUL, long and odd terms).
    "asset-custodian-search",
    "asset-relation-search",
    "audit-cycle-list",
    "audit-cycle",
    "audit-inspection",
    "audit-cycle-report",
    "audit-evidence",
    # The backlog's old address, redirecting to policy-review-backlog.
    "audit-policy-backlog",
    "account",
    "account-sessions",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    # OpenID Connect sign-in (a link, and the provider's redirect back).
    "oidc-signin",
    "oidc-callback",
    "mfa-settings",
    # django-otp-webauthn's JSON endpoints, posted to by its script (tests/test_browser_mfa.py)
    "credential-registration-begin",
    "credential-registration-complete",
    "credential-authentication-begin",
    "credential-authentication-complete",
    "js-i18n-catalog",
    "personnel-batch",
    "organisation",
    "person-postings",
    "incident-detail",
    "incident-attachment",
}


def portal_url_names(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(OUTSIDE):
            continue
        if isinstance(pattern, URLResolver):
            yield from portal_url_names(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield pattern.name or route


def test_every_url_of_the_portal_is_listed_as_a_form_target_or_as_none():
    names = set(portal_url_names())
    assert names - set(FORMS) - NO_FORM == set(), "list the new URL in FORMS or NO_FORM"
    assert (set(FORMS) | NO_FORM) - names == set(), "a listed URL no longer exists"
    assert set(FORMS) & NO_FORM == set()


class FormReader(HTMLParser):
    """The forms of a page: action, method and fields with the values they would send."""

    def __init__(self, page_url):
        super().__init__()
        self.page_url = page_url
        self.forms = []
        self._by_id = {}
        self._form = None
        self._select = None
        self._textarea = None

    def _owner(self, attrs):
        return self._by_id.get(attrs.get("form")) or self._form

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            form = {
                "action": attrs.get("action") or self.page_url,
                "method": (attrs.get("method") or "get").lower(),
                "fields": {},
                "kinds": {},
                "files": False,
            }
            self.forms.append(form)
            if attrs.get("id"):
                self._by_id[attrs["id"]] = form
            self._form = form
        elif tag in ("input", "select", "textarea", "button"):
            form = self._owner(attrs)
            name = attrs.get("name")
            if form is None or not name:
                return
            kind = attrs.get("type", "submit" if tag == "button" else "text")
            form["kinds"].setdefault(name, tag if tag in ("select", "textarea") else kind)
            if tag == "select":
                self._select = (form, name)
                form["fields"].setdefault(name, "")
            elif tag == "textarea":
                self._textarea = (form, name)
                form["fields"][name] = ""
            elif kind == "file":
                form["files"] = True
                form["fields"][name] = ""
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs or name not in form["fields"]:
                    form["fields"][name] = attrs.get("value", "on")
            else:
                form["fields"].setdefault(name, attrs.get("value", ""))
        elif tag == "option" and self._select:
            form, name = self._select
            value = attrs.get("value", "")
            if "selected" in attrs or not form["fields"][name]:
                form["fields"][name] = value

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            form, name = self._textarea
            form["fields"][name] += data


def forms_on(response, page_url):
    reader = FormReader(page_url)
    reader.feed(response.content.decode())
    return reader.forms


def target_name(action):
    return resolve(urlsplit(action).path).url_name


def row_counts():
    """Rows in every table of the portal (one query): what a refused request must leave as
    it was."""
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.app_label in ("isms", "acknowledgements", "training", "assets", "audits")
            and not model._meta.proxy
        }
    )
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def fields_to_try(form):
    """Every field of a small form; of a form with a field per checklist item, the first
    two of each kind."""
    seen = {}
    chosen = []
    for name in form["fields"]:
        if name == "csrfmiddlewaretoken" or form["kinds"][name] == "submit":
            continue
        kind = name.rstrip("0123456789")
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= 2:
            chosen.append(name)
    return chosen


def send(client, form, data):
    body = urlencode(data, doseq=True)
    if form["method"] == "get":
        return client.get(f"{urlsplit(form['action']).path}?{body}")
    return client.post(form["action"], data=body, content_type="application/x-www-form-urlencoded")


def error_shown(response):
    """A refused request shows the reason: the form again with the error, or a redirect
    to a page that carries the error message."""
    if response.status_code in (400, 403, 404):
        return True
    if response.status_code == 200:
        return any(
            marker in response.content
            for marker in (
                b'class="error"',
                b"errorlist",
                b'class="message error"',
                b"error-summary",
            )
        )
    return any(m.level_tag == "error" for m in get_messages(response.wsgi_request))


PAGES = sorted(set(FORMS.values()))


@pytest.mark.parametrize(("role", "page"), PAGES, ids=[f"{r}:{p}" for r, p in PAGES])
def test_hostile_values_in_every_field_never_break_a_form(client, people, world, role, page):
    """Each page once, with every form on it that FORMS lists for this person."""
    targets = {target for target, shown_on in FORMS.items() if shown_on == (role, page)}
    if role != "anonymous":
        client.force_login(people[role])
    page_url = world.get(page, page)
    shown = client.get(page_url)
    assert shown.status_code == 200, page_url
    forms = [f for f in forms_on(shown, page_url) if target_name(f["action"]) in targets]
    found = {target_name(f["action"]) for f in forms}
    assert found == targets, f"no form on {page_url} is sent to {targets - found}"
    others = [label for label in HOSTILE if label != "nul"]
    for form in forms:
        fields = fields_to_try(form) or [None]
        for number, field in enumerate(fields):
            # NUL in every field; the other values in turn, so each reaches every form.
            turn = others if len(fields) < len(others) else [others[number % len(others)]]
            for label in ("nul", *turn):
                data = dict(form["fields"])
                if field is not None:
                    data[field] = HOSTILE[label]
                # A checkbox is on whatever its value: only a value that is stored counts.
                stored = field is not None and form["kinds"][field] not in ("checkbox", "radio")
                before = row_counts() if label == "nul" and stored else None
                response = send(client, form, data)
                where = f"{form['method'].upper()} {form['action']} {field}={label}"
                assert response.status_code < 500, where
                if before is not None:
                    assert row_counts() == before, f"{where} wrote something"
                    if form["method"] == "post" and target_name(form["action"]) not in DJANGO_OWN:
                        assert error_shown(response), f"{where} was refused without a reason"
                if role != "anonymous" and target_name(form["action"]) == "logout":
                    client.force_login(people[role])


def test_every_form_on_the_pages_listed_is_sent_to_a_listed_url(client, people, world):
    unlisted = set()
    for role, page in set(FORMS.values()):
        client.logout()
        if role != "anonymous":
            client.force_login(people[role])
        page_url = world.get(page, page)
        for form in forms_on(client.get(page_url), page_url):
            name = target_name(form["action"])
            if name not in FORMS:
                unlisted.add((page_url, name))
    assert unlisted == set()


def test_a_nul_in_a_self_inspection_comment_is_refused_and_the_answers_kept_as_typed(
    client, people, world
):
    client.force_login(people["head"])
    answer = world["answer"]
    url = world["inspection_part"]
    response = client.post(
        url,
        {
            f"result-{answer.item_id}": "partly",
            f"comment-{answer.item_id}": "一部\x00のみ",
            "save": "1",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="error-summary"' in page
    assert f'id="id_comment-{answer.item_id}_error"' in page
    # What was typed is shown again as it was sent.
    assert 'value="partly" selected' in page
    assert "一部\x00のみ</textarea>" in page
    answer.refresh_from_db()
    assert (answer.result, answer.comment) == ("not_compliant", "記録なし")


def test_a_superscript_digit_as_a_quiz_answer_is_refused_and_no_attempt_recorded(
    client, people, world
):
    client.force_login(people["staff"])
    url = world["course"]
    course = Course.objects.get(pk=url.rstrip("/").rsplit("/", 1)[1])
    first, second = course.questions.order_by("order")
    right = first.choices.get(is_correct=True)
    response = client.post(url, {f"q{first.pk}": str(right.pk), f"q{second.pk}": "²"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert f'value="{right.pk}" checked' in response.content.decode()
    assert not course.enrolments.get(user=people["staff"]).attempts.exists()


@pytest.mark.parametrize("value", ["²", "１", "abc", "-1", "0", str(2**63), "9" * 30])
def test_a_malformed_course_id_in_the_completion_page_is_404(client, people, world, value):
    client.force_login(people["admin"])
    assert client.get("/training/status/", {"course": value}).status_code == 404


@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("value", ["²", "abc", str(2**63)])
def test_a_malformed_revision_number_in_a_diff_is_404(client, people, documents, param, value):
    client.force_login(people["staff"])
    query = {"from": "1", "to": "1", param: value}
    assert client.get("/policies/standard/diff/", query).status_code == 404


@pytest.mark.parametrize("value", ["²", "abc", str(2**63)])
def test_a_malformed_section_in_the_acknowledgement_status_is_404(client, people, world, value):
    client.force_login(people["admin"])
    response = client.get(world["campaign"], {"section": value})
    assert response.status_code == 404


def test_a_finding_is_left_as_it_was_when_its_edit_carries_a_nul(client, people, world):
    finding = world["finding_obj"]
    client.force_login(people["auditor"])
    response = client.post(
        world["finding"],
        {
            "title": "新しい題名",
            "area": finding.area,
            "severity": finding.severity,
            "description": "説明\x00",
        },
    )
    assert response.status_code == 200
    assert Finding.objects.get(pk=finding.pk).title == finding.title


@pytest.mark.parametrize(
    ("page", "action", "field"),
    [("recovered_incident", "review", "causes"), ("dismissed_incident", "reopen", "reason")],
)
def test_a_nul_in_an_incidents_review_or_reopening_changes_nothing(
    client, people, world, page, action, field
):
    """The forms of an incident that FORMS reaches on another incident's page."""
    client.force_login(people["admin"])
    before = row_counts()
    response = client.post(f"{world[page]}{action}/", {field: NUL, "change_1": NUL})
    assert response.status_code == 200
    assert error_shown(response)
    assert row_counts() == before
