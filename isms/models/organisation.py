"""The city's organisation: administrative bodies, departments, sections, people and roles."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from ..memo import cached

# Bodies (機関) hold departments (部), which hold sections (課): three levels at most, which lets
# "everything below this department" be a fixed, index-friendly condition instead of a recursive
# query.
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


def subtree_q(prefix, departments):
    """A Q matching rows whose department at `prefix` lies in or below `departments`.

    prefix "" matches Department rows themselves, "section__" a user's section, and so on.
    """
    if isinstance(departments, models.QuerySet):
        departments = departments.values("pk")
    return (
        Q(**{f"{prefix}pk__in": departments})
        | Q(**{f"{prefix}parent__in": departments})
        | Q(**{f"{prefix}parent__parent__in": departments})
    )


def subtree_ids(departments, *more):
    """The ids of `departments` and of the units below them, as one uncorrelated subquery:
    a UNION of the departments, their children and their grandchildren, each a plain join
    on `parent`, with the id querysets of `more` appended.

    Unlike subtree_q's three ORed IN conditions (which the planner cannot estimate, and
    after many dead rows no longer hashes), each branch is a semi-join whose size
    PostgreSQL estimates from the person's few grants, so a list filtered with it keeps a
    cheap plan whatever the state of the statistics. Used for permissions (within()).
    """
    if isinstance(departments, models.QuerySet):
        departments = departments.order_by().values("pk")
    units = Department.objects.order_by()
    return (
        units.filter(pk__in=departments)
        .values("pk")
        .union(
            units.filter(parent__in=departments).values("pk"),
            units.filter(parent__parent__in=departments).values("pk"),
            *more,
            all=True,
        )
    )


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


# Roles held over the whole city rather than over one department.
GLOBAL_ROLES = (Role.AUDITOR, Role.CISO, Role.PROGRAMME_ADMIN)
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
    joined_on = models.DateField(
        _("joined on"),
        null=True,
        blank=True,
        help_text=_("First working day; new staff get their courses from this date."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username

    @property
    def global_roles(self):
        """Roles that apply to the whole city, cached for the request (isms.memo)."""
        return cached(self, "global_roles", self._load_global_roles)

    def _load_global_roles(self):
        roles = set(
            self.role_assignments.filter(role__in=GLOBAL_ROLES).values_list("role", flat=True)
        )
        if self.is_superuser:
            roles.add(Role.PROGRAMME_ADMIN)
        return roles

    def has_global_role(self, *roles):
        return self.is_authenticated and bool(self.global_roles & set(roles))


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
