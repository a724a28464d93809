"""`Authorization: Token <key>` against the portal's hashed, expiring API tokens
(isms/tokens.py). The keyword and the 401 challenge are those of DRF's TokenAuthentication,
which the portal used before, so clients need no change."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .. import tokens


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = tokens.authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(
                _("This API token has expired: issue a new one on the API tokens page.")
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
