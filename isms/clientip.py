"""The address a request came from: one rule for the throttles, django-axes, the audit trail
and the acknowledgement records.

`X-Forwarded-For` is written by whoever sends the request: a client can put any address in
it. Only the entries appended by the reverse proxies the deployment trusts are evidence, so
the address is `REMOTE_ADDR` unless `NUM_PROXIES` (README, Configuration) says how many
proxies stand in front of the portal; then it is the entry the outermost trusted proxy
appended, the `NUM_PROXIES`-th from the right. These are the semantics of Django REST
framework's `NUM_PROXIES` setting, which the settings set to the same number, so DRF's own
throttles would count the same address.

django-ipware was considered: it also reads headers such as `X-Real-IP` and `Client-IP`
unless told not to, and prefers public over private addresses, while inside the city's
closed network every address is private; counting proxies from the right is a rule a
client cannot talk round.
"""

import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from rest_framework.request import Request


def client_ip(request: "HttpRequest | Request | None") -> str | None:
    """The client's address as a string, or None when there is no request (a job, a
    management command) or no usable address."""
    if request is None:
        return None
    meta = request.META
    address = meta.get("REMOTE_ADDR")
    proxies = getattr(settings, "NUM_PROXIES", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        address = entries[-min(proxies, len(entries))]
    return _valid(address) or _valid(meta.get("REMOTE_ADDR"))


def _valid(address: str | None) -> str | None:
    """The address in canonical form, or None if it is not an IP address: a proxy that
    writes `unknown` or a port must not make an evidence record fail to save."""
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None
