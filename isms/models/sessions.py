"""The sessions a person is signed in with, as the portal shows them on the account page.

Django's session store keeps only an opaque blob per session key; this row adds what a
person needs to recognise a session (the browser, the address, when it began and when it
was last used) and lets the portal end it. Written by isms.sessions on sign-in, refreshed
by its middleware, deleted together with the Django session when the session ends.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SignedInSession(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="signed_in_sessions",
    )
    # The key of the session in the session store (SESSION_ENGINE); never shown on a page.
    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")

    def __str__(self):
        return f"{self.user} @ {self.ip_address or '?'}"
