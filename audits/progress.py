"""How far a self-inspection has got, part by part: the checklist is answered one
countermeasure area (seed section 6) at a time, and the summary page lists what is left.

Two queries whatever the size of the checklist: its items, and the ids of the items
answered."""

from dataclasses import dataclass, field

from django.utils.translation import pgettext_lazy

from .models import Area, ChecklistItem, Inspection

NOT_STARTED, IN_PROGRESS, COMPLETE = "not_started", "in_progress", "complete"
STATUS_LABELS = {
    NOT_STARTED: pgettext_lazy("part status", "Not started"),
    IN_PROGRESS: pgettext_lazy("part status", "In progress"),
    COMPLETE: pgettext_lazy("part status", "Complete"),
}


@dataclass
class Part:
    """One countermeasure area of the checklist, with its items and how many are answered."""

    number: int
    code: str
    label: str
    items: list[ChecklistItem] = field(default_factory=list)
    answered: int = 0

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def status(self) -> str:
        if self.answered == 0:
            return NOT_STARTED
        return COMPLETE if self.answered >= self.total else IN_PROGRESS

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass
class Progress:
    parts: list[Part]
    unanswered: list[tuple[Part, ChecklistItem]]

    @property
    def total(self) -> int:
        return sum(part.total for part in self.parts)

    @property
    def answered(self) -> int:
        return sum(part.answered for part in self.parts)

    def part(self, code: str) -> Part | None:
        return next((part for part in self.parts if part.code == code), None)

    def after(self, part: Part) -> Part | None:
        """The next part, or None after the last."""
        return self.parts[part.number] if part.number < len(self.parts) else None

    def before(self, part: Part) -> Part | None:
        return self.parts[part.number - 2] if part.number > 1 else None


def progress_of(inspection: Inspection) -> Progress:
    """The parts of the inspection's checklist in the order of seed section 6 (areas
    without items left out), each item with whether it is answered."""
    items = list(inspection.cycle.checklist.items.all())
    answered = set(inspection.answers.values_list("item_id", flat=True))
    by_area: dict[str, list[ChecklistItem]] = {}
    for item in items:
        by_area.setdefault(item.area, []).append(item)
    parts: list[Part] = []
    unanswered: list[tuple[Part, ChecklistItem]] = []
    for code, label in Area.choices:
        if code not in by_area:
            continue
        part = Part(number=len(parts) + 1, code=code, label=str(label), items=by_area[code])
        for item in part.items:
            if item.pk in answered:
                part.answered += 1
            else:
                unanswered.append((part, item))
        parts.append(part)
    return Progress(parts=parts, unanswered=unanswered)
