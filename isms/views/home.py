from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render

from ..decorators import allowed_if
from ..filters import ACTION_LIST_ID, AuditEventFilter
from ..models import AuditAction, AuditEvent
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
    events = AuditEvent.objects.select_related("actor").order_by("-created_at", "-id")
    filterset = AuditEventFilter(request.GET or None, queryset=events)
    events = filterset.qs
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit_trail.html",
        {
            "form": filterset.form,
            "page": page,
            "query": query.urlencode(),
            "action_list_id": ACTION_LIST_ID,
            "actions": AuditAction.choices,
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
