from django.contrib.auth import get_user_model
from django.core.management import call_command

from acknowledgements import services as acks
from acknowledgements.models import AcknowledgementCampaign
from isms.management.commands.seed_demo import DEMO_PASSWORD
from isms.models import AuditEvent, Department, PolicyDocument, PolicyRevision, Role
from isms.roles import departments_overseen


def counts():
    User = get_user_model()
    return (
        Department.objects.count(),
        User.objects.count(),
        PolicyDocument.objects.count(),
        PolicyRevision.objects.count(),
        AcknowledgementCampaign.objects.count(),
    )


def test_the_demo_has_every_account_role_and_document_and_a_second_run_changes_nothing(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    first = counts()
    events = AuditEvent.objects.count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert counts() == first
    assert AuditEvent.objects.count() == events

    User = get_user_model()
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=[
                "admin",
                "ciso",
                "head.somu",
                "chief.joho",
                "staff.joho",
                "head.kyoiku",
                "staff.kyoiku",
                "auditor",
            ]
        )
    }
    assert len(users) == 8
    assert users["staff.joho"].check_password(DEMO_PASSWORD)
    assert users["admin"].has_global_role(Role.PROGRAMME_ADMIN)
    assert users["ciso"].has_global_role(Role.CISO)
    assert users["auditor"].has_global_role(Role.AUDITOR)
    assert set(departments_overseen(users["head.somu"]).values_list("name", flat=True)) >= {
        "総務部",
        "情報政策課",
    }
    assert set(departments_overseen(users["chief.joho"]).values_list("name", flat=True)) == {
        "情報政策課"
    }
    assert users["head.kyoiku"].section.parent.name == "教育委員会"

    # Ten administrative bodies (seed 4(1)).
    assert Department.objects.filter(kind="body").count() == 10
    basic = PolicyDocument.objects.get(code="basic-policy")
    assert basic.audience == "public"
    assert basic.current_revision().effective_date.isoformat() == "2025-11-27"
    assert PolicyDocument.objects.get(kind="standard").audience == "all_staff"
    procedure = PolicyDocument.objects.get(kind="procedure")
    assert list(procedure.audience_departments.values_list("name", flat=True)) == ["総務部"]

    # The open campaign waits for staff; the department procedure only for 総務部.
    assert {c.revision.document.kind for c in acks.pending_campaigns(users["staff.joho"])} == {
        "standard",
        "procedure",
    }
    assert {c.revision.document.kind for c in acks.pending_campaigns(users["staff.kyoiku"])} == {
        "standard"
    }
