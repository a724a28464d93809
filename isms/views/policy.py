"""Reading the policy: the public basic policy, documents, revisions and differences."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from ..forms import id_or_404
from ..models import DocumentKind, PolicyDocument, RevisionStatus
from ..models.policy import FROZEN_STATUSES
from ..policy_diff import readable_diff
from ..portal import rendered_revision_panels
from ..roles import readable_revisions, visible_policy_documents


def public_policy(request):
    """The basic policy in force, open to every citizen (seed 11)."""
    document = (
        PolicyDocument.objects.filter(kind=DocumentKind.BASIC_POLICY, audience="public")
        .order_by("pk")
        .first()
    )
    if document is None:
        raise Http404(_("No basic policy has been published yet."))
    return _render_document(request, document, public=True)


def document_list(request):
    documents = visible_policy_documents(request.user).order_by("kind", "code")
    return render(request, "policy/document_list.html", {"documents": documents})


def document_detail(request, code):
    document, denied = _visible_document(request, code)
    if denied:
        return denied
    return _render_document(request, document)


def revision_detail(request, code, number):
    document, denied = _visible_document(request, code)
    if denied:
        return denied
    revision = get_object_or_404(
        readable_revisions(request.user).select_related("document"),
        document=document,
        number=number,
    )
    return render(
        request,
        "policy/revision_detail.html",
        {
            "document": document,
            "revision": revision,
            "current": document.current_revision(),
            "panels": rendered_revision_panels(request, revision),
        },
    )


def revision_diff(request, code):
    document, denied = _visible_document(request, code)
    if denied:
        return denied
    readable = readable_revisions(request.user).filter(document=document)
    # Revision numbers, read like ids: malformed is as unknown as missing.
    message = _("Choose two revisions to compare.")
    old = get_object_or_404(readable, number=id_or_404(request.GET.get("from"), message=message))
    new = get_object_or_404(readable, number=id_or_404(request.GET.get("to"), message=message))
    return render(
        request,
        "policy/revision_diff.html",
        {
            "document": document,
            "old": old,
            "new": new,
            "diff": readable_diff(old.body, new.body),
            "revisions": readable.order_by("-number"),
        },
    )


def _visible_document(request, code):
    """(document, None) when the person may read it; (None, response) otherwise.

    A document the person may not read answers exactly like a code that does not exist, so
    the answer never tells that it exists: a login page for every anonymous visitor (the
    link in a mail works once they sign in), 404 for signed-in staff outside the
    audience."""
    document = PolicyDocument.objects.filter(code=code).first()
    visible = visible_policy_documents(request.user)
    if document is not None and visible.filter(pk=document.pk).exists():
        return document, None
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path())
    raise Http404


def _render_document(request, document, public=False):
    current = document.current_revision()
    history = (
        document.revisions.filter(status__in=FROZEN_STATUSES)
        .select_related("published_by")
        .order_by("-effective_date", "-number")
    )
    upcoming = [r for r in history if r.status == RevisionStatus.PUBLISHED and not r.is_in_force()]
    return render(
        request,
        "policy/document_detail.html",
        {
            "document": document,
            "current": current,
            "history": history,
            "upcoming": upcoming,
            "public": public,
        },
    )
