"""Paginating long lists without counting or sorting every row for each page.

A status page lists the people of a whole city, section by section. Django's Paginator
would count the 50,000 rows, then have the database sort all of them to keep fifty. The
page already knows how many rows each section holds (its own per-section totals, one
aggregate), so GroupedPaginator takes the count from them and reads only the sections a
page covers: its query sorts a few hundred rows at most, whatever the size of the city
(bench/daily_pages.py).
"""

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, QuerySet, Value, When


class GroupedPaginator(Paginator):
    """Pages of `rows`, a queryset of rows grouped by `group_field`, given the groups in
    the order the list shows them with the number of rows each holds: [(group id, n), ...].
    Within a group, rows follow `order_by`. The counts must be those of `rows` (the same
    filters): the caller computes both from one scope."""

    def __init__(
        self,
        rows: QuerySet,
        groups: Sequence[tuple[Any, int]],
        per_page: int,
        *,
        group_field: str,
        order_by: Sequence[str],
    ):
        super().__init__(rows, per_page)
        self.rows = rows
        self.groups = [(group, n) for group, n in groups if n]
        self.group_field = group_field
        self.order_by = list(order_by)

    @cached_property
    def count(self) -> int:
        return sum(n for _, n in self.groups)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        covered: list[Any] = []
        skip = start = 0
        for group, n in self.groups:
            if start + n > bottom and start < top:
                if not covered:
                    skip = bottom - start
                covered.append(group)
            start += n
        if not covered:
            return Page([], number, self)
        position = Case(
            *(When(**{self.group_field: group}, then=Value(i)) for i, group in enumerate(covered)),
            output_field=IntegerField(),
        )
        rows = (
            self.rows.filter(**{f"{self.group_field}__in": covered})
            .alias(group_position=position)
            .order_by("group_position", *self.order_by)
        )
        return Page(list(rows[skip : skip + top - bottom]), number, self)
