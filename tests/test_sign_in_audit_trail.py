"""Sign-ins in the audit trail (issue 10): who signed in, how, who failed and who was
locked out, whatever the way in."""

from django.urls import reverse

from isms.models import AuditAction, AuditEvent

from .factories import PASSWORD


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_local_sign_in_is_recorded_with_its_method_and_the_person(client, people):
    client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    (event,) = events(AuditAction.SIGNIN_SUCCEEDED)
    assert event.actor == people["staff"]
    assert event.data == {"method": "local"}
    assert event.ip_address == "127.0.0.1"


def test_a_wrong_password_is_recorded_with_the_name_given_and_never_the_password(client, people):
    client.post(reverse("login"), {"username": "staff_joho", "password": "wrong-guess-123"})
    (event,) = events(AuditAction.SIGNIN_FAILED)
    assert event.actor is None
    assert event.data == {"username": "staff_joho"}
    assert "wrong-guess-123" not in str(event.data)
    assert events(AuditAction.SIGNIN_SUCCEEDED) == []


def test_the_lockout_after_five_failures_is_recorded_once(client, people):
    for _ in range(6):
        client.post(reverse("login"), {"username": "staff_joho", "password": "wrong"})
    locked = events(AuditAction.SIGNIN_LOCKED_OUT)
    assert [event.data["username"] for event in locked] == ["staff_joho"] * len(locked)
    assert len(locked) >= 1
    assert events(AuditAction.SIGNIN_SUCCEEDED) == []


def test_signing_out_is_recorded(client, people):
    client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    client.post(reverse("logout"))
    (event,) = events(AuditAction.SIGNED_OUT)
    assert event.actor == people["staff"]
