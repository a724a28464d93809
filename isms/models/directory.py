"""Which role assignments the city's directory gave (isms/ldap_signin.py): a directory
sign-in takes back only these when the person leaves the mapped group, never a role the
portal's own role page gave."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisation import RoleAssignment


class DirectoryRoleGrant(models.Model):
    assignment = models.OneToOneField(
        RoleAssignment,
        verbose_name=_("role assignment"),
        on_delete=models.CASCADE,
        related_name="directory_grant",
    )
    # The directory group whose membership gave the role, as the mapping names it.
    group_dn = models.CharField(_("directory group"), max_length=500)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role given by the directory")
        verbose_name_plural = _("roles given by the directory")

    def __str__(self):
        return f"{self.assignment} ← {self.group_dn}"
