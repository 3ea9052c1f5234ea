"""The procedure catalogue: what is in force today, searchable without diacritics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflows.definitions import Agency, Definition, Registry
from workflows.text import fold, tokens


@dataclass(frozen=True)
class Hit:
    definition: Definition
    score: float


class Catalogue:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._index: dict[tuple[str, int], tuple[str, str, set[str]]] = {}
        for code in registry.codes():
            for d in registry.versions(code):
                title = fold(d.name.vi) + " " + fold(d.name.en or "")
                extra = " ".join(fold(k) for k in d.keywords) + " " + fold(d.summary.vi if d.summary else "")
                words = set(tokens(title)) | set(tokens(extra))
                self._index[(d.code, d.version)] = (title, extra, words)

    def procedures(self, on: date) -> list[Definition]:
        return self.registry.in_force(on)

    def get(self, code_or_slug: str, on: date) -> Definition | None:
        return self.registry.current(code_or_slug, on) or self.registry.by_slug(code_or_slug, on)

    def agency(self, agency_id: str) -> Agency | None:
        return self.registry.agencies.get(agency_id)

    def search(self, query: str, on: date, limit: int = 50) -> list[Hit]:
        """Rank procedures in force by how well their names/keywords match ``query``.

        Matching is on folded text, so "chuyen truong" finds "Chuyển trường".
        A whole-phrase match ranks above word matches; a query matching nothing
        returns nothing (the assistant must never guess a procedure).
        """
        q = fold(query)
        procedures = self.procedures(on)
        if not q:
            return [Hit(d, 0.0) for d in procedures][:limit]
        q_words = [w for w in tokens(query) if len(w) > 1 or w.isdigit()]
        hits: list[Hit] = []
        for d in procedures:
            title, extra, words = self._index[(d.code, d.version)]
            score = 0.0
            if q == d.code or q == fold(d.slug):
                score += 100
            if q in title:
                score += 20 + 10 * len(q) / max(len(title), 1)
            elif q in extra:
                score += 12
            if q_words:
                matched = sum(1 for w in q_words if w in words or any(x.startswith(w) for x in words if len(w) >= 3))
                if matched:
                    score += 10 * matched / len(q_words)
                    if matched == len(q_words):
                        score += 5
            if score >= 5:
                hits.append(Hit(d, score))
        hits.sort(key=lambda h: (-h.score, h.definition.name.vi))
        return hits[:limit]
