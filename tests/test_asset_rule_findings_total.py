import re

from assets.models import Asset


def test_the_findings_page_counts_every_breaking_asset_beyond_those_it_lists(
    catalogue, org, as_role
):
    levels, tiers = catalogue["levels"], catalogue["tiers"]
    Asset.objects.bulk_create(
        Asset(
            name=f"委託システム{i}",
            kind="system",
            section=org["joho"],
            tier=tiers["lgwan"],
            confidentiality=levels[("confidentiality", "2")],
            confidentiality_rank=2,
            integrity=levels[("integrity", "1")],
            availability=levels[("availability", "1")],
            external_service="委託先株式会社",
            contract_reference="",
        )
        for i in range(501)
    )
    html = as_role("auditor").get("/assets/rules/").content.decode()
    section = html.split('data-rule="external-without-contract"', 1)[1].split("</section>")[0]
    assert re.search(r'data-testid="rule-total">\s*501\s*<', section)
    assert section.count("/assets/") - section.count("/assets/?rule=") == 500
