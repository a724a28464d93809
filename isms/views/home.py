from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render

from ..audit_trail import describe_all
from ..decorators import allowed_if
from ..filters import AuditEventFilter
from ..models import AuditEvent
from ..portal import dashboard_panels
from ..roles import can_read_audit_trail


def home(request):
    """Anonymous visitors read the public policy; staff see what awaits them."""
    if not request.user.is_authenticated:
        return redirect("public-policy")
    panels = []
    for panel in dashboard_panels:
        context = panel.context(request)
        if context is not None:
            panels.append((panel.template, context))
    return render(request, "home.html", {"panels": panels})


def healthz(request):
    """Liveness for load balancers and docker health checks: the process answers. Touches
    neither the database nor the session, so it is cheap enough to poll."""
    return HttpResponse("ok", content_type="text/plain")


@allowed_if(can_read_audit_trail)
def audit_trail(request):
    """Each event as a sentence in the reader's language, with what changed. A filter value
    that is wrong (a date that is no date, an action or a person that does not exist) is a
    field error, and then nothing is listed: a list that silently ignored it would look
    filtered when it is not."""
    events = AuditEvent.objects.select_related("actor").order_by("-created_at", "-id")
    filters = {k: v for k, v in request.GET.items() if k != "page"}
    filterset = AuditEventFilter(request.GET if filters else None, queryset=events)
    form = filterset.form
    valid = not filterset.is_bound or form.is_valid()
    page = Paginator(filterset.qs if valid else events.none(), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit_trail.html",
        {
            "form": form,
            "page": page,
            "entries": describe_all(page),
            "query": query.urlencode(),
            "filtered": bool(filters),
        },
    )


def set_language(request):
    """Django's language switch, which also remembers the choice on the person's account:
    their reminders and e-mail are written in it."""
    from django.conf import settings
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    language = request.POST.get("language")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and request.user.language != language
    ):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response
