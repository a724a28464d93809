"""The bands of the cycle report's heat map (issue 12): each compliance rate falls in a band
with a colour, a symbol and a word, so that the map reads without colour, and the legend
states the thresholds from the same table."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Band:
    code: str  # the CSS class heat-<code>
    floor: int | None  # the lowest rate in the band, in percent; None: nothing to rate
    symbol: str  # the marks of Japanese forms: ◎ good, △ needs attention, × poor
    label: Promise
    range: Promise


BANDS = (
    Band("high", 90, "◎", pgettext_lazy("heat map band", "Good"), _("at least 90%")),
    Band("mid", 70, "△", pgettext_lazy("heat map band", "Needs attention"), _("70–89%")),
    Band("low", 0, "×", pgettext_lazy("heat map band", "Poor"), _("below 70%")),
)
NONE = Band(
    "none", None, "—", pgettext_lazy("heat map band", "No rate"), _("no applicable answer yet")
)


def band(rate: int | None) -> Band:
    if rate is None:
        return NONE
    return next(b for b in BANDS if b.floor is not None and rate >= b.floor)


def legend() -> tuple[Band, ...]:
    return (*BANDS, NONE)


@dataclass
class Cell:
    rate: int | None
    band: Band


def rows(report) -> list[tuple[object, list[Cell]]]:
    """(department row, its cells: the overall rate, then the areas in report.areas' order)."""
    return [
        (
            row,
            [
                Cell(row.overall, band(row.overall)),
                *(Cell(row.cells[code], band(row.cells[code])) for code, _label in report.areas),
            ],
        )
        for row in report.rows
    ]
