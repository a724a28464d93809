"""Shared by the incident tests. The shared personas (tests/conftest.py) have no member of
the CSIRT: `csirt` is one, in 情報政策課 (the programme admin's office), and `make_incident`
reports incidents through the services as a persona and, if asked, has the CSIRT triage
them. Import both fixtures into a test file (each is registered under its short name, so a
test's `csirt` argument does not shadow the import):

    from .incident_helpers import csirt_fixture, make_incident_fixture  # noqa: F401
"""

import datetime
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from incidents import services
from incidents.models import Category, Incident
from isms.models import Role
from isms.roles import assign_role

from .factories import UserFactory

CSIRT_USERNAME = "csirt_joho"


def load_incident_catalogue():
    """The categories, authorities and obligation rules migration incidents.0002 loads,
    put back if a test that emptied every table ran before (rolled back with the test)."""
    if not Category.objects.exists():
        seed = importlib.import_module("incidents.migrations.0002_seed_categories_and_obligations")
        seed.seed(apps, None)


def csirt_member(org):
    user = UserFactory(username=CSIRT_USERNAME, section=org["joho"])
    assign_role(user, Role.CSIRT)
    return user


@pytest.fixture(name="csirt")
def csirt_fixture(org):
    """csirt_joho: a member of the CSIRT, who handles every incident."""
    return csirt_member(org)


@pytest.fixture(name="make_incident")
def make_incident_fixture(org, people):
    """make_incident("staff", "joho") -> an incident reported by that persona (or "csirt",
    or a User) about that unit, an hour ago. triaged=True has the CSIRT triage it as
    `category` and `severity`, owned by csirt_joho; the reporting obligations it calls for
    (personal_data=True, severity="high"...) appear with it. Other keywords go to
    services.report (description, location, personal_data, my_number, occurred_at)."""

    def make(
        reporter="staff",
        unit="joho",
        *,
        triaged=False,
        category="mistake",
        severity="medium",
        title="USBメモリの紛失",
        **fields,
    ):
        load_incident_catalogue()
        if reporter == "csirt":
            reporter = csirt_member(org)
        elif isinstance(reporter, str):
            reporter = people[reporter]
        fields.setdefault("occurred_at", timezone.now() - datetime.timedelta(hours=1))
        incident = services.report(reporter, title=title, department=org[unit], **fields)
        if triaged:
            team = csirt_member(org)
            services.triage(
                incident,
                by=team,
                category=Category.objects.get(code=category),
                severity=severity,
                owner=team,
            )
        return Incident.objects.get(pk=incident.pk)

    return make
