from django.db import migrations


def grant_manage_assets(apps, schema_editor):
    """Heads and chiefs appointed before this permission existed get it now, as
    isms.roles.sync_department_permissions would grant it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    RoleAssignment = apps.get_model("isms", "RoleAssignment")
    Grant = apps.get_model("isms", "DepartmentUserObjectPermission")
    assignments = RoleAssignment.objects.filter(role__in=["department_head", "section_chief"])
    if not assignments.exists():
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="isms", model="department")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="manage_assets",
        defaults={"name": "Can classify and edit the department's information assets"},
    )
    for user_id, department_id in assignments.values_list("user_id", "department_id"):
        Grant.objects.get_or_create(
            user_id=user_id, permission=permission, content_object_id=department_id
        )


class Migration(migrations.Migration):

    dependencies = [
        ('isms', '0002_append_only_guards'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='department',
            options={'ordering': ['sort_order', 'code'], 'permissions': [('view_compliance', 'Can view the compliance status of the department'), ('manage_assets', "Can classify and edit the department's information assets")], 'verbose_name': 'department', 'verbose_name_plural': 'departments'},
        ),
        migrations.RunPython(grant_manage_assets, migrations.RunPython.noop),
    ]
