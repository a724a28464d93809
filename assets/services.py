"""Changing assets: every change is checked against the person's rights and kept in the
asset's history; a change of classification needs a reason."""

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from isms import audit
from isms.audit import AnyRequest, AuditAction
from isms.models import Department, User
from isms.roles import AnyUser, is_programme_admin

from .access import assignable_sections, can_edit, can_manage_any
from .custodians import check_custodian
from .models import Asset, AssetChange, AssetRelation, ChangeKind

if TYPE_CHECKING:  # for the annotation only: activate_scheme imports it when it runs
    from .models import ClassificationScheme

CLASSIFICATION_FIELDS = ("confidentiality", "integrity", "availability")
TRACKED_FIELDS = (
    "name",
    "kind",
    "description",
    "section",
    "custodian",
    "location",
    "tier",
    "has_personal_data",
    "has_my_number",
    "external_service",
    "contract_reference",
    *CLASSIFICATION_FIELDS,
    "status",
    "last_reviewed_on",
)


def _display(value: object) -> object:
    """How a value reads in the history: levels and tiers by name, people by user name."""
    if value is None:
        return None
    if hasattr(value, "get_username"):
        return value.get_username()
    if hasattr(value, "_meta"):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _check_section(user: User, section: Department) -> None:
    if not assignable_sections(user).filter(pk=section.pk).exists():
        raise ValidationError({"section": _("You can only keep assets in sections you manage.")})


def check_may_add(by: AnyUser) -> None:
    if not can_manage_any(by):
        raise PermissionDenied(_("Only section chiefs and department heads add assets."))


def check_may_change(by: AnyUser, asset: Asset) -> None:
    """Refuse unless the person may change the asset: update_asset() asks, and the API
    asks before it reads what was sent."""
    if not can_edit(by, asset):
        raise PermissionDenied(
            _(
                "Only the section chief or department head of the owning "
                "department can change this asset."
            )
        )


@transaction.atomic
def create_asset(*, by: User, request: AnyRequest | None = None, **fields: Any) -> Asset:
    check_may_add(by)
    _check_section(by, fields["section"])
    asset = Asset(**fields)
    # full_clean applies the custodian rule (Asset.clean: someone of its department).
    asset.full_clean()
    asset.save()
    AssetChange.objects.create(
        asset=asset,
        kind=ChangeKind.CREATED,
        changed_by=by,
        changes={name: [None, _display(getattr(asset, name))] for name in TRACKED_FIELDS},
    )
    audit.record(
        AuditAction.ASSET_CREATED,
        actor=by,
        target=asset,
        request=request,
        data={"classification": [str(getattr(asset, f)) for f in CLASSIFICATION_FIELDS]},
    )
    return asset


@transaction.atomic
def update_asset(
    asset: Asset, *, by: User, reason: str = "", request: AnyRequest | None = None, **fields: Any
) -> tuple[Asset, AssetChange | None]:
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    check_may_change(by, asset)
    if "section" in fields and fields["section"].pk != asset.section_id:
        _check_section(by, fields["section"])
    rank_before = asset.confidentiality_rank
    changes: dict[str, list[object]] = {}
    for name, value in fields.items():
        if name not in TRACKED_FIELDS:
            continue
        old = getattr(asset, name)
        if old != value:
            changes[name] = [_display(old), _display(value)]
            setattr(asset, name, value)
    if not changes:
        return asset, None
    if "section" in changes:
        # The custodian must still be someone of the asset's department (a new custodian is
        # checked by Asset.clean, in full_clean below).
        check_custodian(asset.custodian, asset.section)
    reclassified = any(name in changes for name in CLASSIFICATION_FIELDS)
    if reclassified and not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the classification changes.")})
    asset.full_clean()
    # The history entry first: the asset's guards (model and trigger) let a classification
    # change only when its entry exists.
    change = AssetChange.objects.create(
        asset=asset,
        kind=ChangeKind.CLASSIFIED if reclassified else ChangeKind.EDITED,
        changed_by=by,
        changes=changes,
        reason=reason.strip(),
        # The entry shows the old values too: as confidential as the higher of the two.
        confidentiality_rank=max(rank_before, asset.confidentiality.rank),
    )
    asset.history_entry = change
    asset.save()
    if reclassified:
        audit.record(
            AuditAction.ASSET_CLASSIFIED,
            actor=by,
            target=asset,
            request=request,
            data={
                "changes": {k: v for k, v in changes.items() if k in CLASSIFICATION_FIELDS},
                "reason": reason.strip(),
            },
        )
    return asset, change


@transaction.atomic
def mark_reviewed(
    asset: Asset, *, by: User, note: str = "", request: AnyRequest | None = None
) -> AssetChange:
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if not can_edit(by, asset):
        raise PermissionDenied(
            _(
                "Only the section chief or department head of the owning "
                "department can review this asset."
            )
        )
    today = timezone.localdate()
    old = asset.last_reviewed_on
    asset.last_reviewed_on = today
    asset.save(update_fields=["last_reviewed_on", "updated_at"])
    return AssetChange.objects.create(
        asset=asset,
        kind=ChangeKind.REVIEWED,
        changed_by=by,
        changes={"last_reviewed_on": [_display(old), today.isoformat()]},
        reason=note.strip(),
    )


@transaction.atomic
def add_relation(
    source: Asset, kind: str, target: Asset, *, by: User, sanitised: bool = False
) -> AssetRelation:
    if not can_edit(by, source):
        raise PermissionDenied(_("You cannot change this asset."))
    if source.pk == target.pk:
        raise ValidationError({"target": _("An asset cannot relate to itself.")})
    relation, created = AssetRelation.objects.get_or_create(
        source=source, kind=kind, target=target, defaults={"sanitised": sanitised}
    )
    if created:
        AssetChange.objects.create(
            asset=source,
            kind=ChangeKind.EDITED,
            changed_by=by,
            # The related asset by number, not name: the history is read by everyone who
            # sees this asset, and they may not be allowed to see the other one.
            changes={"relation": [None, f"{relation.get_kind_display()} #{target.pk}"]},
        )
    return relation


@transaction.atomic
def remove_relation(relation: AssetRelation, *, by: User) -> None:
    if not can_edit(by, relation.source):
        raise PermissionDenied(_("You cannot change this asset."))
    AssetChange.objects.create(
        asset=relation.source,
        kind=ChangeKind.EDITED,
        changed_by=by,
        changes={"relation": [f"{relation.get_kind_display()} #{relation.target_id}", None]},
    )
    relation.delete()


@transaction.atomic
def activate_scheme(
    scheme: "ClassificationScheme", *, by: User, request: AnyRequest | None = None
) -> "ClassificationScheme":
    """Make `scheme` the one classification scheme in force (the programme admin, in the
    Django admin). Assets keep the levels they were classified with until a chief
    reclassifies them on the register's pages, which writes their history."""
    from .models import ClassificationScheme

    if not is_programme_admin(by):
        raise PermissionDenied(_("Only the programme admin switches the classification scheme."))
    previous = ClassificationScheme.objects.select_for_update().filter(is_active=True).first()
    if previous is not None and previous.pk == scheme.pk:
        return scheme
    # The partial unique constraint allows one active scheme: the old one goes off first.
    ClassificationScheme.objects.filter(is_active=True).update(is_active=False)
    ClassificationScheme.objects.filter(pk=scheme.pk).update(is_active=True)
    scheme.is_active = True
    audit.record(
        AuditAction.ASSET_SCHEME_ACTIVATED,
        actor=by,
        target=scheme,
        request=request,
        data={"scheme": scheme.code, "previous": previous.code if previous else None},
    )
    return scheme


def pass_assets_to_successor(
    sender: object,
    unit: Department,
    successor: Department,
    by: User,
    batch: Any = None,
    **kwargs: Any,
) -> dict[str, int]:
    """Receiver of isms.signals.unit_merged: the merged unit's assets belong to its
    successor from now on, each with a history entry that says so. Bulk: one UPDATE and
    one INSERT per 2,000 assets, whatever their number."""
    reason = _("Reorganisation: %(old)s was merged into %(new)s.") % {
        "old": unit.name,
        "new": successor.name,
    }
    moved = 0
    assets = Asset.objects.filter(section=unit).only("pk", "confidentiality_rank")
    while True:
        chunk = list(assets[:2000])
        if not chunk:
            break
        AssetChange.objects.bulk_create(
            AssetChange(
                asset=asset,
                kind=ChangeKind.EDITED,
                changed_by=by,
                changes={"section": [unit.name, successor.name]},
                reason=reason,
            )
            for asset in chunk
        )
        Asset.objects.filter(pk__in=[a.pk for a in chunk]).update(section=successor)
        moved += len(chunk)
    return {"assets": moved}
