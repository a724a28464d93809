from django.db import migrations

from isms.dbguards import append_only, frozen_when_published


class Migration(migrations.Migration):
    dependencies = [("isms", "0001_initial")]

    operations = [
        append_only("isms_auditevent"),
        frozen_when_published("isms_policyrevision"),
    ]
