from django.db import migrations

from isms.dbguards import append_only


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]

    operations = [append_only("training_acknowledgement")]
