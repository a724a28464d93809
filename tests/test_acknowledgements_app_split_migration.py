"""Acknowledgements left the training app for their own: a database holding campaigns,
acknowledgements and a course from before the split migrates across it without losing a
row, a content type or a record guard (training 0005, acknowledgements 0001)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import InternalError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from guardian.models import UserObjectPermission

from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from isms.models import PolicyRevision, User
from training.models import Course, Enrolment

BEFORE = ("training", "0004_records_guards")
MOVED = ("acknowledgement", "acknowledgementcampaign")
SHA = "a" * 64

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return executor.loader.project_state(targets).apps


def latest():
    graph = MigrationExecutor(connection).loader.graph
    return graph.leaf_nodes()


def before_the_split():
    return [node for node in latest() if node[0] not in ("training", "acknowledgements")] + [BEFORE]


def user_triggers(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        return sorted(name for (name,) in cursor.fetchall())


def refused(sql):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except InternalError:
        return True
    return False


@pytest.fixture
def old_database():
    """The schema as it was before the split, with rows in it; migrated forward again
    whatever the test does, so the next test finds the present schema."""
    apps = migrate(before_the_split())
    try:
        yield apps
    finally:
        migrate(latest())


def fill(apps):
    """Rows of every kind the split moves, written with the models of the time."""
    User = apps.get_model("isms", "User")
    Document = apps.get_model("isms", "PolicyDocument")
    Revision = apps.get_model("isms", "PolicyRevision")
    Campaign = apps.get_model("training", "AcknowledgementCampaign")
    Ack = apps.get_model("training", "Acknowledgement")
    OldCourse = apps.get_model("training", "Course")
    Enrolment = apps.get_model("training", "Enrolment")
    author = User.objects.create(username="author")
    readers = [User.objects.create(username=f"reader{n}") for n in range(3)]
    campaigns, acks = [], []
    for n in range(2):
        document = Document.objects.create(
            code=f"doc-{n}", title=f"Document {n}", kind="standard", audience="all_staff"
        )
        revision = Revision.objects.create(
            document=document,
            number=1,
            title=f"Document {n}",
            body="本文",
            status="published",
            content_sha256=SHA,
            author=author,
        )
        campaigns.append(
            Campaign.objects.create(revision=revision, deadline="2027-03-31", opened_by=author)
        )
        acks += [
            Ack.objects.create(user=reader, revision=revision, content_sha256=SHA)
            for reader in readers
        ]
    course = OldCourse.objects.create(
        title="情報セキュリティ研修",
        content="…",
        fiscal_year=2026,
        deadline="2027-03-31",
        created_by=author,
    )
    Enrolment.objects.create(course=course, user=readers[0], due_on="2027-03-31")
    return readers, campaigns, acks, course


def old_content_types():
    """What a database of the time holds: the content types under the training app, with
    permissions and an object permission pointing at them."""
    ContentType.objects.filter(app_label="acknowledgements").delete()
    return {
        model: ContentType.objects.get_or_create(app_label="training", model=model)[0].pk
        for model in MOVED
    }


def test_every_campaign_acknowledgement_and_course_survives_the_split(old_database):
    readers, campaigns, acks, course = fill(old_database)
    rows = {
        "campaigns": {
            (c.pk, c.revision_id, str(c.deadline), c.opened_by_id, c.opened_at) for c in campaigns
        },
        "acks": {
            (a.pk, a.user_id, a.revision_id, a.content_sha256, a.acknowledged_at) for a in acks
        },
    }

    migrate(latest())

    assert {
        (c.pk, c.revision_id, str(c.deadline), c.opened_by_id, c.opened_at)
        for c in AcknowledgementCampaign.objects.all()
    } == rows["campaigns"]
    assert {
        (a.pk, a.user_id, a.revision_id, a.content_sha256, a.acknowledged_at)
        for a in Acknowledgement.objects.all()
    } == rows["acks"]
    assert list(Course.objects.values_list("pk", "title")) == [(course.pk, course.title)]
    assert list(Enrolment.objects.values_list("course_id", "user_id")) == [
        (course.pk, readers[0].pk)
    ]
    # New rows still get ids after the old ones (the id sequences moved with the tables).
    extra = Acknowledgement.objects.create(
        user=User.objects.create(username="newcomer"),
        revision=PolicyRevision.objects.get(pk=campaigns[0].revision_id),
        content_sha256=SHA,
    )
    assert extra.pk > max(a.pk for a in acks)


def test_the_content_types_move_with_their_permissions_and_no_second_one_appears(old_database):
    readers, campaigns, _acks, _course = fill(old_database)
    types = old_content_types()
    view = Permission.objects.get_or_create(
        content_type_id=types["acknowledgementcampaign"],
        codename="view_acknowledgementcampaign",
        defaults={"name": "Can view acknowledgement campaign"},
    )[0]
    # Written as the database holds it (guardian's save() would look the model up).
    (granted,) = UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                user_id=readers[0].pk,
                permission=view,
                content_type_id=types["acknowledgementcampaign"],
                object_pk=str(campaigns[0].pk),
            )
        ]
    )

    migrate(latest())

    assert {
        model: ContentType.objects.get_for_model(model_class).pk
        for model, model_class in zip(
            MOVED, (Acknowledgement, AcknowledgementCampaign), strict=True
        )
    } == types
    assert not ContentType.objects.filter(app_label="training", model__in=MOVED).exists()
    granted.refresh_from_db()
    assert granted.content_object == AcknowledgementCampaign.objects.get(pk=campaigns[0].pk)
    assert Permission.objects.get(pk=view.pk).content_type.app_label == "acknowledgements"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guards are PostgreSQL's")
def test_the_record_guards_are_there_after_the_split_and_refuse_as_before(old_database):
    fill(old_database)
    before = user_triggers("training_acknowledgement")
    assert len(before) == 4

    migrate(latest())

    # The guards, beside the later trigger that marks the reminders done (issue 13).
    after = [
        name
        for name in user_triggers("acknowledgements_acknowledgement")
        if "completes_reminders" not in name
    ]
    assert [name.rsplit("_", 1)[0] for name in after] == [name.rsplit("_", 1)[0] for name in before]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = ANY(%s)", [before])
        assert cursor.fetchone() == (0,)  # the old guards' functions went with them
    table = "acknowledgements_acknowledgement"
    assert refused(f"UPDATE {table} SET user_agent = 'forged'")
    assert refused(f"DELETE FROM {table}")
    assert refused(f"TRUNCATE {table} CASCADE")
    assert refused(
        f"INSERT INTO {table} (user_id, revision_id, content_sha256, user_agent) "
        f"SELECT user_id, revision_id, '{'b' * 64}', '' FROM {table} LIMIT 1"
    )
    assert Acknowledgement.objects.count() == 6
