"""The login page's "Sign in with <provider>" button, shown only when OpenID Connect
sign-in is configured (isms/oidc_signin.py)."""

from django import template

from isms.oidc_signin import sign_in_button_context

register = template.Library()


@register.inclusion_tag("registration/oidc_signin_button.html")
def oidc_signin_button(next_url=""):
    return sign_in_button_context(next_url or "")
