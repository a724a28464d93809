"""The register's pages and API run a fixed number of queries however large the register:
the same for 10 assets (less than a page) as for 1,500 (thirty pages, eight of them after
the filter below), for a section chief and for an auditor. A query per row, or per row
shown, would make the two counts differ. The timings at a city's size are
bench/asset_register.py's."""

import datetime
import re

import pytest

from assets.access import visible_assets
from assets.models import Asset, AssetChange, AssetRelation, ChangeKind

from .pages import page

# The most queries each page or endpoint may run: the figures measured with the register
# below (13, 15, 2, 9 and 6 for the chief), with a little room for the site's navigation. A
# query per row would overshoot them by fifty.
LIST_PAGE_QUERIES = 15
FILTERED_LIST_PAGE_QUERIES = 17
LIST_API_QUERIES = 4
RULES_PAGE_QUERIES = 15  # two per rule: the listed assets and their total
REVIEWS_PAGE_QUERIES = 8
DETAIL_PAGE_QUERIES = 22

SMALL, LARGE = 10, 1_500


@pytest.fixture
def fill(catalogue, org):
    """fill(n) -> bulk-creates assets until the register holds n of them, spread so that a
    section chief sees some and not others:

    - 4 in 10 are 機密性2 assets of 情報政策課 (the chief's), half of them held by an
      external service with no contract (a tier rule broken);
    - 4 in 10 are 機密性2 assets of 学校教育課 (out of the chief's sight), all outsourced
      without a contract;
    - 2 in 10 are public (機密性1) assets of 学校教育課, which everyone sees.
    """
    levels, tiers = catalogue["levels"], catalogue["tiers"]
    c1, c2 = levels[("confidentiality", "1")], levels[("confidentiality", "2")]
    i1, a1 = levels[("integrity", "1")], levels[("availability", "1")]
    reviewed = datetime.date(2020, 4, 1)

    def asset(number):
        group = number % 10
        if group < 4:
            section, level = org["joho"], c2
            external = "外部事業者" if number % 2 else ""
        elif group < 8:
            section, level, external = org["gakko"], c2, "外部事業者"
        else:
            section, level, external = org["gakko"], c1, ""
        return Asset(
            name=f"資産{number:05d}",
            kind="system",
            section=section,
            tier=tiers["lgwan" if number % 3 else "internet"],
            confidentiality=level,
            confidentiality_rank=level.rank,  # bulk_create skips save(), which sets it
            integrity=i1,
            availability=a1,
            external_service=external,
            last_reviewed_on=reviewed if number % 5 == 0 else None,
        )

    def fill_to(n):
        start = Asset.objects.count()
        Asset.objects.bulk_create((asset(number) for number in range(start, n)), batch_size=2000)
        assert Asset.objects.count() == n

    return fill_to


def seen_by(role, n):
    """How many of n assets (made by `fill`) the persona sees."""
    if role == "auditor":
        return n
    return n * 4 // 10 + n * 2 // 10  # 情報政策課's own and the public ones


def shown_total(response):
    """The total the register page states above its table."""
    main = page(response).find("main")
    table = main.find("table", testid="asset-table")
    assert table is not None
    for p in main.find_all("p", cls="meta"):
        numbers = re.findall(r"\d[\d,]*", p.text)
        if numbers:
            return int(numbers[0].replace(",", ""))
    raise AssertionError("the register states no total")


def measure(run, limit, django_assert_max_num_queries):
    with django_assert_max_num_queries(limit) as captured:
        response = run()
    assert response.status_code == 200
    return response, len(captured)


@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_the_register_page_runs_the_same_queries_for_10_and_1500_assets(
    as_role, fill, role, django_assert_max_num_queries
):
    client = as_role(role)
    fill(SMALL)
    client.get("/assets/")  # warm the per-process caches (content types, site...)
    small, small_queries = measure(
        lambda: client.get("/assets/"), LIST_PAGE_QUERIES, django_assert_max_num_queries
    )
    assert shown_total(small) == seen_by(role, SMALL)
    assert len(page(small).find("table", testid="asset-table").find("tbody").find_all("tr")) == (
        seen_by(role, SMALL)
    )

    fill(LARGE)
    large, large_queries = measure(
        lambda: client.get("/assets/"), LIST_PAGE_QUERIES, django_assert_max_num_queries
    )
    assert shown_total(large) == seen_by(role, LARGE)
    assert large.context["page"].paginator.count == seen_by(role, LARGE)
    assert len(page(large).find("table", testid="asset-table").find("tbody").find_all("tr")) == 50
    assert large_queries == small_queries


@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_a_filtered_later_page_of_the_register_stays_bounded(
    as_role, fill, role, django_assert_max_num_queries
):
    client = as_role(role)
    fill(LARGE)
    client.get("/assets/")
    response, _ = measure(
        lambda: client.get("/assets/?confidentiality=2&tier=lgwan&page=7"),
        FILTERED_LIST_PAGE_QUERIES,
        django_assert_max_num_queries,
    )
    assert response.context["page"].number == 7


@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_the_api_list_runs_the_same_queries_for_10_and_1500_assets(
    api_as, fill, role, django_assert_max_num_queries
):
    client = api_as(role)
    fill(SMALL)
    client.get("/api/assets/")
    small, small_queries = measure(
        lambda: client.get("/api/assets/"), LIST_API_QUERIES, django_assert_max_num_queries
    )
    assert small.json()["count"] == seen_by(role, SMALL)
    assert len(small.json()["results"]) == seen_by(role, SMALL)

    fill(LARGE)
    large, large_queries = measure(
        lambda: client.get("/api/assets/"), LIST_API_QUERIES, django_assert_max_num_queries
    )
    assert large.json()["count"] == seen_by(role, LARGE)
    assert len(large.json()["results"]) == 50
    assert large_queries == small_queries


@pytest.mark.parametrize("path", ["/assets/rules/", "/assets/reviews/"])
@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_the_findings_and_review_pages_run_the_same_queries_for_10_and_1500_assets(
    as_role, fill, role, path, django_assert_max_num_queries
):
    limit = RULES_PAGE_QUERIES if path == "/assets/rules/" else REVIEWS_PAGE_QUERIES
    client = as_role(role)
    fill(SMALL)
    client.get(path)
    small, small_queries = measure(lambda: client.get(path), limit, django_assert_max_num_queries)
    fill(LARGE)
    large, large_queries = measure(lambda: client.get(path), limit, django_assert_max_num_queries)
    assert large_queries == small_queries
    if path == "/assets/reviews/":
        assert review_totals(small) == seen_by(role, SMALL)
        assert review_totals(large) == seen_by(role, LARGE)
    else:
        assert outsourced_findings(small) == min(outsourced(role, SMALL), 500)
        assert outsourced_findings(large) == min(outsourced(role, LARGE), 500)


def review_totals(response):
    """The sum of the 'assets in use' column of the annual review table."""
    table = page(response).find("table", testid="review-table")
    return sum(int(tr.find_all("td")[2].text) for tr in table.find("tbody").find_all("tr"))


def outsourced(role, n):
    """Confidential assets held outside with no contract, as `fill` makes them."""
    own = len([number for number in range(n) if number % 10 < 4 and number % 2])
    return own + (n * 4 // 10 if role == "auditor" else 0)


def outsourced_findings(response):
    section = page(response).find("section", data_rule="external-without-contract")
    assert section is not None
    table = section.find("table")
    return len(table.find("tbody").find_all("tr")) if table else 0


@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_the_asset_page_runs_the_same_queries_for_few_and_many_relations_and_changes(
    as_role, fill, people, role, django_assert_max_num_queries
):
    fill(SMALL)
    hub = Asset.objects.filter(section__code="joho").order_by("pk").first()
    client = as_role(role)
    url = f"/assets/{hub.pk}/"

    def relate_to_all():
        related = AssetRelation.objects.filter(source=hub).values("target")
        others = Asset.objects.exclude(pk=hub.pk).exclude(pk__in=related)
        AssetRelation.objects.bulk_create(
            AssetRelation(source=hub, kind="connects_to", target=other) for other in others
        )
        AssetChange.objects.bulk_create(
            AssetChange(
                asset=hub,
                kind=ChangeKind.EDITED,
                changed_by=people["chief"],
                changes={"location": ["", "本庁舎"]},
            )
            for _ in others
        )

    relate_to_all()
    client.get(url)
    _, few = measure(lambda: client.get(url), DETAIL_PAGE_QUERIES, django_assert_max_num_queries)

    fill(SMALL + 300)
    relate_to_all()
    response, many = measure(
        lambda: client.get(url), DETAIL_PAGE_QUERIES, django_assert_max_num_queries
    )
    assert many == few
    # Every related asset the viewer may see is linked, the others are not.
    linked = {
        href
        for href in (a.attrs.get("href", "") for a in page(response).find("main").find_all("a"))
        if re.fullmatch(r"/assets/\d+/", href) and href != url
    }
    visible = visible_assets(people[role]).exclude(pk=hub.pk)
    assert linked == {f"/assets/{pk}/" for pk in visible.values_list("pk", flat=True)}
    assert len(linked) == seen_by(role, SMALL + 300) - 1


@pytest.mark.parametrize("role", ["chief", "auditor"])
def test_the_register_filtered_above_public_counts_the_same_and_runs_the_same_queries(
    as_role, api_as, fill, people, role, django_assert_max_num_queries
):
    """?confidentiality=2 leaves the public branch out of the person's filter
    (visible_assets(public=False)): the same assets as the full filter, and one query more
    than the unfiltered register (the level's rank), for 10 assets as for 1,500."""
    client, api = as_role(role), api_as(role)
    fill(SMALL)
    client.get("/assets/?confidentiality=2")
    api.get("/api/assets/?confidentiality=2")
    counts = []
    for n in (SMALL, LARGE):
        fill(n)
        expected = visible_assets(people[role]).filter(confidentiality__code="2").count()
        assert expected == (n * 8 // 10 if role == "auditor" else n * 4 // 10)
        response, page_queries = measure(
            lambda: client.get("/assets/?confidentiality=2"),
            LIST_PAGE_QUERIES + 1,
            django_assert_max_num_queries,
        )
        assert response.context["page"].paginator.count == expected
        listed, api_queries = measure(
            lambda: api.get("/api/assets/?confidentiality=2"),
            LIST_API_QUERIES + 1,
            django_assert_max_num_queries,
        )
        assert listed.json()["count"] == expected
        counts.append((page_queries, api_queries))
    assert counts[0] == counts[1]
    own = visible_assets(people[role], public=False).filter(confidentiality_rank__gt=1)
    everything = visible_assets(people[role]).filter(confidentiality_rank__gt=1)
    assert set(own.values_list("pk", flat=True)) == set(everything.values_list("pk", flat=True))
