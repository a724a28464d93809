"""Checks that flag what breaks the three-tier model (seed 6(3)) and outsourcing rules.

A rule is a small function from a queryset of assets to the queryset of those that break
it, registered with @tier_rule. A city adds its own in its own module, imported from an
AppConfig.ready(), and the register, the findings page and the API pick it up.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from .models import (
    INTERNET_TIER,
    LGWAN_TIER,
    MY_NUMBER_TIER,
    AssetRelation,
    AssetStatus,
    RelationKind,
)


@dataclass(frozen=True)
class TierRule:
    code: str
    title: str
    find: Callable  # find(assets) -> the assets that break the rule

    def violations(self, assets):
        return self.find(assets.filter(status=AssetStatus.IN_USE))


RULES: dict[str, TierRule] = {}


def tier_rule(code, title):
    def register(find):
        RULES[code] = TierRule(code=code, title=title, find=find)
        return find

    return register


def rules_broken_by(asset):
    """Codes of the rules this one asset breaks (one small query per rule)."""
    from .models import Asset

    one = Asset.objects.filter(pk=asset.pk)
    return [rule for rule in RULES.values() if rule.violations(one).exists()]


@tier_rule("my-number-outside-tier", _("My Number data outside the My Number tier"))
def my_number_outside_tier(assets):
    on_other_tier = AssetRelation.objects.filter(
        source=OuterRef("pk"), kind=RelationKind.STORED_ON
    ).exclude(target__tier__code=MY_NUMBER_TIER)
    return assets.filter(has_my_number=True).filter(
        ~Q(tier__code=MY_NUMBER_TIER) | Q(Exists(on_other_tier))
    )


@tier_rule("my-number-connected", _("My Number tier system connected to another tier"))
def my_number_connected_to_other_tier(assets):
    outward = AssetRelation.objects.filter(
        source=OuterRef("pk"), kind=RelationKind.CONNECTS_TO
    ).exclude(target__tier__code=MY_NUMBER_TIER)
    inward = AssetRelation.objects.filter(
        target=OuterRef("pk"), kind=RelationKind.CONNECTS_TO
    ).exclude(source__tier__code=MY_NUMBER_TIER)
    return assets.filter(tier__code=MY_NUMBER_TIER).filter(Q(Exists(outward)) | Q(Exists(inward)))


@tier_rule(
    "lgwan-internet-unsanitised",
    _("LGWAN tier system connected to the internet tier without sanitisation"),
)
def lgwan_internet_without_sanitisation(assets):
    outward = AssetRelation.objects.filter(
        source=OuterRef("pk"),
        kind=RelationKind.CONNECTS_TO,
        sanitised=False,
        target__tier__code=INTERNET_TIER,
    )
    inward = AssetRelation.objects.filter(
        target=OuterRef("pk"),
        kind=RelationKind.CONNECTS_TO,
        sanitised=False,
        source__tier__code=INTERNET_TIER,
    )
    return assets.filter(tier__code=LGWAN_TIER).filter(Q(Exists(outward)) | Q(Exists(inward)))


@tier_rule(
    "external-without-contract",
    _("Confidential asset held by an external service with no contract recorded"),
)
def confidential_external_without_contract(assets):
    return (
        assets.filter(confidentiality_rank__gte=2)
        .exclude(external_service="")
        .filter(contract_reference="")
    )
