"""The city's organisation: administrative bodies, departments, sections, people and roles."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from ..memo import cached

# Bodies (機関) hold departments (部), which hold sections (課): three levels at most.
# "Everything below this department" is read from DepartmentAncestor, which does not depend on
# the number of levels.
MAX_DEPTH = 3


class DepartmentKind(models.TextChoices):
    BODY = "body", _("Administrative body")
    DEPARTMENT = "department", _("Department")
    SECTION = "section", _("Section")


def department_id_of(unit):
    """The id of the department (部) a unit belongs to: itself unless it is a section."""
    if unit.kind == DepartmentKind.SECTION and unit.parent_id:
        return unit.parent_id
    return unit.pk


class DepartmentQuerySet(models.QuerySet):
    def within(self, departments):
        """Departments that are in `departments` or below one of them.

        `departments` is a queryset (kept as a SQL subquery) or a list of ids.
        """
        return self.filter(pk__in=subtree_ids(departments))

    # The ancestor table follows every change of the tree made through the ORM: save()
    # (Department.save), bulk_create(), bulk_update() and update() of `parent` (here).
    # What bypasses them (raw SQL, loaddata's raw saves) must call relink_ancestors()
    # itself, with every unit's id to rebuild the whole table.
    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        missing = [unit.code for unit in created if unit.pk is None]
        ids = [unit.pk for unit in created if unit.pk is not None]
        if missing:  # a database that does not return the new ids
            ids += list(Department.objects.filter(code__in=missing).values_list("pk", flat=True))
        relink_ancestors(ids)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        done = super().bulk_update(objs, fields, *args, **kwargs)
        if "parent" in fields or "parent_id" in fields:
            relink_ancestors([unit.pk for unit in objs])
        return done

    def update(self, **kwargs):
        if "parent" not in kwargs and "parent_id" not in kwargs:
            return super().update(**kwargs)
        moved = list(self.values_list("pk", flat=True))
        done = super().update(**kwargs)
        relink_ancestors(moved)
        return done


def subtree_ids(departments):
    """The ids of `departments` and of every unit below them: one uncorrelated subquery on
    the ancestor table, in which `departments` (a queryset, kept as SQL, or a list of ids)
    appears once.

    PostgreSQL plans `IN` over it as a semi-join whose size it estimates from the few
    departments given, so a list filtered with it keeps a cheap plan whatever the state of
    its statistics (bench/permission_plans.py). Used for permissions (within()) and for the
    audiences of documents and courses."""
    if isinstance(departments, models.QuerySet):
        departments = departments.order_by().values("pk")
    return DepartmentAncestor.objects.filter(ancestor__in=departments).values("unit_id")


def relink_ancestors(unit_ids):
    """Rewrite the ancestor rows of the units `unit_ids` and of everything below them from
    the units' `parent`: after a unit is created or moved.

    Reads the whole tree's (id, parent) pairs, a few hundred rows for a city."""
    unit_ids = set(unit_ids)
    if not unit_ids:
        return
    below = set(
        DepartmentAncestor.objects.filter(ancestor_id__in=unit_ids).values_list(
            "unit_id", flat=True
        )
    )
    affected = unit_ids | below
    parents = dict(Department.objects.order_by().values_list("pk", "parent_id"))
    rows = []
    for unit_id in affected:
        if unit_id not in parents:  # deleted meanwhile
            continue
        node, depth, seen = unit_id, 0, set()
        while node is not None:
            if node in seen:
                raise ValidationError({"parent": _("A department cannot be its own ancestor.")})
            seen.add(node)
            rows.append(DepartmentAncestor(unit_id=unit_id, ancestor_id=node, depth=depth))
            node, depth = parents.get(node), depth + 1
    DepartmentAncestor.objects.filter(unit_id__in=affected).delete()
    DepartmentAncestor.objects.bulk_create(rows)


class Department(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=DepartmentKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    # A unit is never deleted once it holds records: a reorganisation ends it (its last
    # day) and may name the unit that takes over its people and records.
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("The unit's last day.")
    )
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
    )

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        permissions = [
            ("view_compliance", _("Can view the compliance status of the department")),
            ("manage_assets", _("Can classify and edit the department's information assets")),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        saves_parent = update_fields is None or {"parent", "parent_id"} & set(update_fields)
        moved = self._state.adding or (
            saves_parent and self.parent_id != getattr(self, "_saved_parent_id", None)
        )
        with transaction.atomic():
            super().save(*args, **kwargs)
            if moved:
                relink_ancestors([self.pk])
        if saves_parent:
            self._saved_parent_id = self.parent_id

    @classmethod
    def from_db(cls, db, field_names, values):
        unit = super().from_db(db, field_names, values)
        # The parent as loaded, so that save() knows whether the unit moved.
        unit._saved_parent_id = unit.__dict__.get("parent_id")
        return unit

    def clean(self):
        depth, node = 1, self.parent
        while node is not None:
            if node.pk == self.pk:
                raise ValidationError({"parent": _("A department cannot be its own ancestor.")})
            depth, node = depth + 1, node.parent
        if depth > MAX_DEPTH:
            raise ValidationError(
                {
                    "parent": _(
                        "The organisation has at most three levels: body, department, section."
                    )
                }
            )

    def is_current(self, on=None):
        on = on or timezone.localdate()
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_until is None or self.valid_until >= on
        )

    def ancestors_and_self(self):
        """Ids of this department and those above it (at most three, no query per level
        once the parents are cached)."""
        ids, node = [], self
        while node is not None:
            ids.append(node.pk)
            node = node.parent
        return ids

    @property
    def path_name(self):
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class DepartmentAncestor(models.Model):
    """One row per unit and each unit above it, the unit itself included (depth 0): what
    lets "everything in or below these departments" be one join on `ancestor` whatever
    the depth of the tree. Written only by relink_ancestors(), which Department.save(),
    the department queryset's bulk_create() and update() call."""

    # Their own indexes would repeat the two below.
    unit = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="ancestor_links", db_index=False
    )
    ancestor = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="descendant_links", db_index=False
    )
    depth = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ancestor", "unit"], name="unique_department_ancestor")
        ]
        indexes = [models.Index(fields=["unit", "depth"], name="department_ancestor_unit_idx")]

    def __str__(self):
        return f"{self.ancestor_id} > {self.unit_id} ({self.depth})"


class DepartmentUserObjectPermission(UserObjectPermissionBase):
    """Per-department rights held by a person (a direct foreign key, no generic relation)."""

    content_object = models.ForeignKey(Department, on_delete=models.CASCADE)


class DepartmentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Department, on_delete=models.CASCADE)


class Role(models.TextChoices):
    SECTION_CHIEF = "section_chief", _("Section chief (情報セキュリティ管理者)")
    DEPARTMENT_HEAD = "department_head", _("Department head (情報セキュリティ責任者)")
    AUDITOR = "auditor", _("Auditor")
    CISO = "ciso", _("CISO (最高情報セキュリティ責任者)")
    PROGRAMME_ADMIN = "programme_admin", _("Programme admin (統括情報セキュリティ責任者)")
    # The incident response team (情報セキュリティインシデント対応チーム), held by people of
    # the programme admin's office: triages and handles incidents (incidents/).
    CSIRT = "csirt", _("CSIRT (インシデント対応チーム)")


# Roles held over the whole city rather than over one department.
GLOBAL_ROLES = (Role.AUDITOR, Role.CISO, Role.PROGRAMME_ADMIN, Role.CSIRT)
# Roles held over one department (and everything below it).
DEPARTMENTAL_ROLES = (Role.SECTION_CHIEF, Role.DEPARTMENT_HEAD)


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    section = models.ForeignKey(
        Department,
        verbose_name=_("section"),
        help_text=_("The unit the person belongs to (usually a section)."),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="ja",
        help_text=_("Language of the mail and notifications the person receives."),
    )
    # 職員番号: how the personnel system, the directory and the identity provider name the
    # same person (isms.accounts matches a first sign-in by it).
    staff_number = models.CharField(
        _("staff number"),
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The staff number (職員番号) of the personnel system."),
    )
    joined_on = models.DateField(
        _("joined on"),
        null=True,
        blank=True,
        help_text=_("First working day; new staff get their courses from this date."),
    )
    # From the personnel system (isms.personnel): readings, post and employment type.
    family_name_reading = models.CharField(_("family name (reading)"), max_length=150, blank=True)
    given_name_reading = models.CharField(_("given name (reading)"), max_length=150, blank=True)
    post = models.CharField(_("post"), max_length=50, blank=True)
    employment_type = models.CharField(_("employment type"), max_length=20, blank=True)
    left_on = models.DateField(
        _("last working day"),
        null=True,
        blank=True,
        help_text=_("The person is deactivated after this day; their records are kept."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        # The section as loaded, so that save() knows whether the person moved.
        user._saved_section_id = user.__dict__.get("section_id")
        return user

    def save(self, *args, **kwargs):
        """A change of section made one person at a time (the Django admin, a sign-in that
        creates the person) opens a posting too; the personnel batches write theirs in bulk
        (isms.personnel)."""
        update_fields = kwargs.get("update_fields")
        saves_section = update_fields is None or {"section", "section_id"} & set(update_fields)
        adding = self._state.adding
        moved = saves_section and (
            (adding and self.section_id is not None)
            or (not adding and self.section_id != getattr(self, "_saved_section_id", None))
        )
        if not moved:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._record_posting(on=self.joined_on if adding else None)
        self._saved_section_id = self.section_id

    def _record_posting(self, on=None):
        """Close the current posting the day before `on` (default today) and open one in the
        person's section from `on`."""
        # Through the app registry: the personnel models import this module.
        posting = apps.get_model("isms", "Posting")
        on = on or timezone.localdate()
        posting.objects.filter(user_id=self.pk).end_before(on)
        if self.section_id is not None:
            posting.objects.create(
                user_id=self.pk,
                unit_id=self.section_id,
                post=self.post,
                employment_type=self.employment_type,
                valid_from=on,
            )

    @property
    def held_roles(self):
        """Every role the person holds, citywide or on a department, as a set of role values:
        one query per request (isms.memo), which the navigation, the views' guards and the
        querysets all read instead of asking the database each."""
        return cached(self, "held_roles", self._load_held_roles)

    def _load_held_roles(self):
        roles = set(self.role_assignments.values_list("role", flat=True).distinct())
        if self.is_superuser:
            roles.add(Role.PROGRAMME_ADMIN)
        return frozenset(roles)

    @property
    def global_roles(self):
        """Roles that apply to the whole city."""
        return self.held_roles & set(GLOBAL_ROLES)

    def has_global_role(self, *roles):
        return self.is_authenticated and bool(self.global_roles & set(roles))

    def has_departmental_role(self, *roles):
        """Holds one of `roles` on some unit."""
        return self.is_authenticated and bool(self.held_roles & set(roles))


class RoleAssignment(models.Model):
    """A role a person holds. Change these only through isms.roles, which keeps the
    department permissions in step and writes the audit trail."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "department"], name="unique_departmental_role"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(department__isnull=True),
                name="unique_global_role",
            ),
            models.CheckConstraint(
                condition=(
                    Q(role__in=GLOBAL_ROLES, department__isnull=True)
                    | Q(role__in=DEPARTMENTAL_ROLES, department__isnull=False)
                ),
                name="role_department_matches_scope",
            ),
        ]

    def __str__(self):
        if self.department_id:
            return f"{self.user} — {self.get_role_display()} ({self.department})"
        return f"{self.user} — {self.get_role_display()}"
