"""Who must use a second factor and when it is recent enough (isms.second_factor,
issue 10)."""

import time

import pytest
from django.test import RequestFactory

from isms import second_factor

MUST = ["chief", "head", "other_head", "auditor", "ciso", "admin"]


@pytest.fixture(autouse=True)
def mfa_on(settings):
    # On in production, off in isms/settings/test.py for the rest of the suite.
    settings.MFA_ENABLED = True


@pytest.mark.parametrize("role", MUST)
def test_every_privileged_role_must_use_a_second_factor(people, role):
    assert second_factor.must_use(people[role])


def test_staff_need_no_second_factor(people):
    assert not second_factor.must_use(people["staff"])


def test_nobody_must_when_mfa_is_switched_off(people, settings):
    settings.MFA_ENABLED = False
    assert not second_factor.must_use(people["admin"])


def request_with_session(session):
    request = RequestFactory().get("/")
    request.session = session
    return request


def test_a_second_factor_counts_for_fifteen_minutes(people):
    session = {}
    second_factor.record(request_with_session(session), "totp")
    second_factor.require_recent(request_with_session(session), people["admin"])
    session[second_factor.SESSION_AT] = time.time() - 16 * 60
    with pytest.raises(second_factor.SecondFactorRequired):
        second_factor.require_recent(request_with_session(session), people["admin"])


def test_a_privileged_person_without_a_second_factor_is_refused(people):
    with pytest.raises(second_factor.SecondFactorRequired):
        second_factor.require_recent(request_with_session({}), people["ciso"])


def test_staff_and_jobs_are_never_asked(people):
    second_factor.require_recent(request_with_session({}), people["staff"])
    second_factor.require_recent(None, people["admin"])
