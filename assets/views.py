from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from isms.decorators import allowed_if
from isms.forms import add_service_errors
from isms.imports import ImportRefused, visible_jobs
from isms.pickers import picker_results

from . import reviews, services, transfer
from .access import can_edit, can_manage_any, visible_assets, visible_history
from .filters import AssetFilter, above_public
from .forms import AssetForm, ImportForm, RelationForm, ReviewForm
from .models import Asset, AssetRelation
from .tier_rules import RULES, rules_broken_by

LIST_RELATED = ("section__parent", "confidentiality", "integrity", "availability", "tier")


def _filtered(request):
    base = visible_assets(request.user, public=not above_public(request.GET))
    base = base.select_related(*LIST_RELATED)
    return AssetFilter(request.GET or None, queryset=base, request=request)


def _query_without_page(request):
    query = request.GET.copy()
    for key in ("page", "output"):
        query.pop(key, None)
    return query.urlencode()


@login_required
def asset_list(request):
    filterset = _filtered(request)
    assets = filterset.qs.order_by("section_id", "name", "pk")
    page = Paginator(assets, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "assets/asset_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": _query_without_page(request),
            "can_manage": can_manage_any(request.user),
        },
    )


@login_required
def asset_export(request):
    output = "xlsx" if request.GET.get("output") == "xlsx" else "csv"
    return transfer.export(_filtered(request).qs, output, readable=True)


def _visible_or_404(request, pk):
    return get_object_or_404(
        visible_assets(request.user).select_related(*LIST_RELATED, "custodian"), pk=pk
    )


@login_required
def asset_detail(request, pk):
    return _detail_page(request, _visible_or_404(request, pk))


def _detail_page(request, asset, *, relation_form=None, review_form=None):
    """The asset's page; after a relation or a review that was refused, with that form as
    it was sent, its errors summed up at the top (input never lost)."""
    visible = visible_assets(request.user)
    relations = [
        (relation, relation.target, "out")
        for relation in asset.relations_from.filter(target__in=visible).select_related(
            "target__tier"
        )
    ] + [
        (relation, relation.source, "in")
        for relation in asset.relations_to.filter(source__in=visible).select_related("source__tier")
    ]
    hidden = (
        asset.relations_from.exclude(target__in=visible).count()
        + asset.relations_to.exclude(source__in=visible).count()
    )
    history = Paginator(
        visible_history(request.user, asset).select_related("changed_by"), 20
    ).get_page(request.GET.get("page"))
    editable = can_edit(request.user, asset)
    if editable:
        relation_form = relation_form or RelationForm(asset=asset, user=request.user)
        review_form = review_form or ReviewForm()
    return render(
        request,
        "assets/asset_detail.html",
        {
            "asset": asset,
            "rules": asset.handling_rules(),
            "broken": rules_broken_by(asset),
            "relations": relations,
            "hidden_relations": hidden,
            "history": history,
            "review_state": reviews.review_state(asset),
            "can_edit": editable,
            "relation_form": relation_form if editable else None,
            "review_form": review_form if editable else None,
        },
    )


@allowed_if(can_manage_any)
def asset_create(request):
    form = AssetForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            asset = services.create_asset(by=request.user, request=request, **form.asset_fields())
        except ValidationError as error:
            add_service_errors(form, error, FORM_FIELDS)
        else:
            messages.success(request, _("Asset added."))
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/asset_form.html", {"form": form})


@login_required
def asset_edit(request, pk):
    asset = _visible_or_404(request, pk)
    if not can_edit(request.user, asset):
        raise PermissionDenied
    form = AssetForm(request.POST or None, instance=Asset.objects.get(pk=pk), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_asset(
                asset,
                by=request.user,
                request=request,
                reason=form.cleaned_data.get("reason", ""),
                **form.asset_fields(),
            )
        except ValidationError as error:
            add_service_errors(form, error, FORM_FIELDS)
        else:
            messages.success(request, _("Asset saved."))
            return redirect("asset-detail", pk=pk)
    return render(request, "assets/asset_form.html", {"form": form, "asset": asset})


# Service fields whose form field has another name.
FORM_FIELDS = {"custodian": "custodian_username"}


@require_POST
@login_required
def asset_review(request, pk):
    asset = _visible_or_404(request, pk)
    if not can_edit(request.user, asset):
        raise PermissionDenied
    form = ReviewForm(request.POST)
    if not form.is_valid():
        # Shown again with the note as typed and what to correct.
        return _detail_page(request, asset, review_form=form)
    services.mark_reviewed(asset, by=request.user, note=form.cleaned_data["note"], request=request)
    messages.success(request, _("Review recorded."))
    return redirect("asset-detail", pk=pk)


@login_required
def relation_add(request, pk):
    asset = _visible_or_404(request, pk)
    if request.method != "POST":
        # The address of a refused relation's page, reloaded or bookmarked: the asset.
        return redirect("asset-detail", pk=pk)
    if not can_edit(request.user, asset):
        raise PermissionDenied
    form = RelationForm(request.POST, asset=asset, user=request.user)
    if form.is_valid():
        try:
            services.add_relation(
                asset,
                form.cleaned_data["kind"],
                form.cleaned_data["target"],
                by=request.user,
                sanitised=form.cleaned_data["sanitised"],
            )
        except ValidationError as error:
            add_service_errors(form, error, FORM_FIELDS)
        else:
            messages.success(request, _("Relation added."))
            # The form is sent to its own place in the page (#add-relation), which the
            # browser would keep: back to the top, where the confirmation is.
            return redirect(reverse("asset-detail", args=[pk]) + "#main")
    # Refused, or a search without JavaScript: the page again with the form as sent.
    return _detail_page(request, asset, relation_form=form)


@login_required
def relation_search(request, pk):
    """The related-asset picker's matches (static/js/picker.js): only assets the person
    sees, for an asset they may change."""
    asset = _visible_or_404(request, pk)
    if not can_edit(request.user, asset):
        raise PermissionDenied
    return picker_results(request, RelationForm(asset=asset, user=request.user)["target"])


@allowed_if(can_manage_any)
def custodian_search(request):
    """The custodian picker's matches: only people who may keep an asset of a unit the
    person manages (isms.pickers' rule, assets.custodians)."""
    return picker_results(request, AssetForm(user=request.user)["custodian_username"])


@require_POST
@login_required
def relation_remove(request, pk, relation_pk):
    asset = _visible_or_404(request, pk)
    relation = get_object_or_404(AssetRelation, pk=relation_pk, source=asset)
    services.remove_relation(relation, by=request.user)
    messages.success(request, _("Relation removed."))
    return redirect("asset-detail", pk=pk)


@allowed_if(can_manage_any)
def asset_import(request):
    """Upload a file: the answer is at once the page of its import job, which shows the
    progress and then the result (the job checks and writes the file)."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = transfer.start_import(form.cleaned_data["file"], by=request.user, request=request)
        except ImportRefused as refused:
            form.add_error("file", refused.message)
        else:
            return redirect("import-job", pk=job.pk)
    jobs = visible_jobs(request.user).filter(kind=transfer.IMPORT_KIND).select_related("scope")
    return render(request, "assets/asset_import.html", {"form": form, "jobs": jobs[:10]})


@login_required
def import_template(request, extension):
    if extension not in ("csv", "xlsx"):
        raise Http404
    return transfer.export(None, extension, filename="assets-template", readable=True)


SHOWN = 500


@login_required
def rule_findings(request):
    """Every asset that breaks a tier rule, per rule and department, within what the
    person may see. Two queries per rule: the first assets and their count."""
    visible = visible_assets(request.user).select_related("section__parent", "tier")
    findings = []
    for rule in RULES.values():
        violations = rule.violations(visible)
        assets = list(violations.order_by("section__parent__name", "section__name", "name")[:SHOWN])
        total = violations.count()
        findings.append((rule, assets, total))
    return render(request, "assets/rule_findings.html", {"findings": findings})


@login_required
def review_overview(request):
    rows = reviews.review_counts_by_section(visible_assets(request.user))
    return render(
        request,
        "assets/review_overview.html",
        {
            "rows": rows,
            "deadline": reviews.review_deadline(),
            "fiscal_year_start": reviews.fiscal_year_start(),
        },
    )
