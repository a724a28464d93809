from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from isms.decorators import allowed_if
from isms.exceptions import WorkflowError
from isms.exports import cell_datetime, export_response
from isms.policy_diff import readable_diff

from . import access
from . import services as acks
from .filters import PeopleStatusFilter
from .forms import DeadlineForm, StatusOnForm
from .models import Acknowledgement


@login_required
def my_acknowledgements(request):
    receipts = Paginator(
        Acknowledgement.objects.filter(user=request.user)
        .select_related("revision__document")
        .order_by("-acknowledged_at"),
        20,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "acknowledgements/my_acknowledgements.html",
        {"pending_panel": acks.pending_panel(request), "receipts": receipts},
    )


@login_required
def read_and_acknowledge(request, revision_id):
    """Read a revision that awaits you, with what changed since the one you last
    acknowledged, and confirm it. The page exists only for those it asks: 404 otherwise,
    as for a revision that does not exist."""
    if request.method == "POST":
        try:
            ack, created = acks.acknowledge(request.user, revision_id, request=request)
        except (PermissionDenied, WorkflowError):
            raise Http404 from None
        if created:
            messages.success(request, _("Thank you. Your acknowledgement has been recorded."))
        return redirect("ack-receipt", pk=ack.pk)
    revision = acks.revision_to_acknowledge(request.user, revision_id, with_body=True)
    if revision is None:
        raise Http404
    if revision.acknowledgement_id is not None:
        return redirect("ack-receipt", pk=revision.acknowledgement_id)
    if not revision.asks:
        raise Http404
    previous = acks.last_acknowledged_before(request.user, revision)
    return render(
        request,
        "acknowledgements/read_revision.html",
        {
            "revision": revision,
            "campaign": revision.campaign,
            "previous": previous,
            "diff": readable_diff(previous.revision.body, revision.body) if previous else None,
        },
    )


@login_required
def receipt(request, pk):
    ack = get_object_or_404(
        Acknowledgement.objects.select_related("revision__document", "user__section"), pk=pk
    )
    if not access.can_read_receipt(request.user, ack):
        raise Http404
    # What else the person still has to acknowledge (one query), on their own receipt only:
    # someone reading another's receipt is not told what that person has left to do.
    pending_panel = None
    if ack.user_id == request.user.pk:
        pending_panel = {**acks.pending_panel(request), "after_receipt": True}
    return render(
        request, "acknowledgements/receipt.html", {"ack": ack, "pending_panel": pending_panel}
    )


@allowed_if(access.can_follow_status)
def campaign_list(request):
    campaigns = Paginator(access.campaigns_visible_to(request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "acknowledgements/campaign_list.html", {"campaigns": campaigns})


def _campaign_for(request, revision_id):
    return get_object_or_404(access.campaigns_visible_to(request.user), revision_id=revision_id)


PEOPLE_PER_PAGE = 50


@allowed_if(access.can_follow_status)
def campaign_status(request, revision_id):
    """Who has and has not acknowledged, per section, within the viewer's departments."""
    campaign = _campaign_for(request, revision_id)
    revision = campaign.revision
    filterset = PeopleStatusFilter(
        request.GET or None,
        queryset=acks.people_status(revision, request.user),
        request=request,
    )
    if "section" in filterset.errors:
        raise Http404  # a malformed or unknown section id, or one out of the viewer's scope
    people = filterset.qs
    chosen = filterset.form.cleaned_data if filterset.is_bound else {}
    section, state = chosen.get("section"), chosen.get("state") or None
    if request.GET.get("export") == "csv":
        return _status_csv(revision, people)
    query = request.GET.copy()
    query.pop("page", None)
    # The counts as they stood at the end of a past day, with that day's staff.
    on_form = StatusOnForm({"on": request.GET.get("on", "")})
    on = on_form.cleaned_data.get("on") if on_form.is_valid() else None
    if on is not None and on < timezone.localdate():
        departments = acks.status_on(revision, request.user, on)
        pages = Paginator(people, PEOPLE_PER_PAGE)
    else:
        on, departments = None, acks.status_by_department(revision, request.user)
        # Today's counts already say how many people each section lists: no count, and
        # no sort of the whole city for one page.
        pages = acks.people_pages(people, departments, PEOPLE_PER_PAGE, section, state)
    page = pages.get_page(request.GET.get("page"))
    return render(
        request,
        "acknowledgements/campaign_status.html",
        {
            "campaign": campaign,
            "revision": revision,
            "departments": departments,
            "status_rows": _status_rows(departments),
            "on": on,
            "on_form": on_form,
            "page": page,
            "form": filterset.form,
            "section": section,
            "state": state,
            "query": query.urlencode(),
            "can_change_deadline": access.can_change_deadline(request.user),
            "deadline_form": DeadlineForm(initial={"deadline": campaign.deadline}),
        },
    )


def _status_rows(departments):
    """The progress table's rows: a department's totals, then each of its sections.

    Built here rather than in a template loop: the city-wide table has 500 sections, and
    the template engine took most of the page's time drawing them (bench/daily_pages.py)."""
    labels = (_("Staff"), _("Acknowledged"), _("Not yet"))
    group_row = (
        '<tr class="group"><th>{}</th><td data-label="{}">{}</td><td data-label="{}">{}</td>'
        '<td data-label="{}">{}</td><td data-label="%">{}%</td></tr>'
    )
    section_row = (
        '<tr data-section="{}"><td class="indent"><a href="?section={}&amp;state=pending">{}</a>'
        '</td><td data-label="{}">{}</td><td data-label="{}" data-testid="done-{}">{}</td>'
        '<td data-label="{}">{}</td><td data-label="%"><meter min="0" max="100" value="{}">'
        "</meter> {}%</td></tr>"
    )
    rows = []
    for group in departments:
        name = group.department.name if group.department else "—"
        rows.append(
            format_html(
                group_row,
                name,
                labels[0],
                group.total,
                labels[1],
                group.done,
                labels[2],
                group.pending,
                group.percent,
            )
        )
        for row in group.sections:
            section = row.section
            rows.append(
                format_html(
                    section_row,
                    section.code,
                    section.pk,
                    section.name,
                    labels[0],
                    row.total,
                    labels[1],
                    section.code,
                    row.done,
                    labels[2],
                    row.pending,
                    row.percent,
                    row.percent,
                )
            )
    return mark_safe("\n".join(rows))  # noqa: S308 - every part went through format_html


@require_POST
@login_required
def change_deadline(request, revision_id):
    form = DeadlineForm(request.POST)
    deadline = form.cleaned_data["deadline"] if form.is_valid() else None
    try:
        acks.change_deadline(revision_id, deadline, by=request.user, request=request)
        messages.success(request, _("Deadline changed."))
    except WorkflowError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("campaign-status", revision_id=revision_id)


def _status_csv(revision, people):
    """Streamed, so a city-wide export holds one chunk of rows in memory at a time."""
    people = people.select_related("section__parent")
    header = [
        _("Department"),
        _("Section"),
        _("User name"),
        _("Name"),
        _("Acknowledged at"),
        _("Revision"),
        _("SHA-256"),
    ]

    def rows():
        for person in people.iterator(chunk_size=2000):
            parent = person.section.parent
            yield (
                [
                    parent.name if parent else "",
                    person.section.name,
                    person.username,
                    person.display_name,
                    cell_datetime(person.acknowledged_at),
                    revision.number,
                    revision.content_sha256 if person.acknowledged_at else "",
                ]
            )

    filename = f"acknowledgements-{revision.document.code}-r{revision.number}"
    return export_response(filename, header, rows(), "csv")
