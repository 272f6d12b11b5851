"""What a migration did not map one-to-one: notes per file, grouped for the reader."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

#: Note categories, in the order the report lists them, with what each means.
CATEGORIES: dict[str, str] = {
    "missing": "required, but the card has no value for it: write it by hand",
    "conflict": "the kbtools field already held a different value: both are kept",
    "unresolved": "ids that name nothing in this KB: kept as the KB's own field",
    "renamed": "the value does not fit the kbtools field: kept beside it as `kb_<name>`",
    "lossy": "converted, and the original kept too because the conversion drops something",
    "narrowed": "translated to a narrower kbtools word (per value; the original is kept "
                "beside it where it says more)",
    "kept": "not converted: kept where it is, as the KB's own field",
    "plan": "experiment plans: what the plan does not say (kbtools starting values filled "
            "in, or to write by hand)",
    "placeholder": "placeholder removed (the value was not known yet)",
    "empty": "empty value removed",
}


@dataclass(frozen=True)
class Note:
    rel: str
    category: str
    path: str
    message: str


@dataclass
class Report:
    notes: list[Note] = field(default_factory=list)
    declared: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # kind -> fields
    changed: list[str] = field(default_factory=list)  # files whose content changes
    #: Values filled in, per file: (rel, field) -> value (each also counted in ``defaults``).
    filled: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, rel: str, category: str, path: str, message: str) -> None:
        note = Note(rel, category, path, message)
        if note not in self._seen:  # a migration runs its rules until nothing changes
            self._seen.add(note)
            self.notes.append(note)

    @property
    def _seen(self) -> set[Note]:
        if not hasattr(self, "_seen_notes"):
            self._seen_notes: set[Note] = set(self.notes)
        return self._seen_notes

    def add_default(self, rel: str, path: str, value: Any) -> None:
        self.filled.setdefault((rel, path), str(value))

    @property
    def defaults(self) -> Counter[tuple[str, str]]:
        """(field, value) -> number of cards it was filled in."""
        return Counter((path, value if len(value) <= 60 else "(text)")
                       for (_, path), value in self.filled.items())

    def of(self, category: str) -> list[Note]:
        return [n for n in self.notes if n.category == category]

    def text(self) -> str:
        lines = [f"{len(self.changed)} file(s) to change"]
        if self.declared:
            total = sum(len(f) for f in self.declared.values())
            lines.append(f"\n{total} field(s) kept as this KB's own (declared in the extension "
                         "file):")
            for kind, fields in self.declared.items():
                shown = ", ".join(f"{name} ({n})" for name, n in fields)
                lines.append(f"  {kind}: {shown}")
        if self.defaults:
            lines.append("\nvalues filled in (check them):")
            for (path, value), n in sorted(self.defaults.items()):
                lines.append(f"  {path}: {value}  ({n} card{'s' if n != 1 else ''})")
        by_category: dict[str, list[Note]] = defaultdict(list)
        for note in self.notes:
            by_category[note.category].append(note)
        for category, meaning in CATEGORIES.items():
            notes = by_category.get(category)
            if not notes:
                continue
            lines.append(f"\n{category} — {meaning}:")
            for note in sorted(notes, key=lambda n: (n.rel, n.path)):
                lines.append(f"  {note.rel}: {note.path}: {note.message}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "declared": {k: [{"field": f, "cards": n} for f, n in v]
                         for k, v in self.declared.items()},
            "defaults": [{"field": p, "value": v, "cards": n}
                         for (p, v), n in sorted(self.defaults.items())],
            "filled": [{"file": rel, "field": p, "value": v}
                       for (rel, p), v in sorted(self.filled.items())],
            "notes": [n.__dict__ for n in self.notes],
        }
