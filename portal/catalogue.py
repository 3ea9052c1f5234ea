"""The procedure catalogue: what is in force today, searchable without diacritics."""

from __future__ import annotations

import uuid
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
        self.generation = uuid.uuid4().hex  # a new catalogue (registry loaded again) is a new edition
        self._in_force: dict[date, tuple[Definition, ...]] = {}
        self._index: dict[tuple[str, int], tuple[str, str, set[str]]] = {}
        for code in registry.codes():
            for d in registry.versions(code):
                title = fold(d.name.vi) + " " + fold(d.name.en or "")
                extra = " ".join(fold(k) for k in d.keywords)
                words = set(tokens(title)) | set(tokens(extra))
                self._index[(d.code, d.version)] = (title, extra, words)

    def procedures(self, on: date) -> list[Definition]:
        return list(self._in_force_on(on))

    def edition(self, on: date) -> tuple[object, ...]:
        """What the pages built from the catalogue depend on, on ``on``: this catalogue and the
        version of every procedure in force. A new version coming into force is a new edition."""
        return (self.generation, *((d.code, d.version) for d in self._in_force_on(on)))

    def _in_force_on(self, on: date) -> tuple[Definition, ...]:
        found = self._in_force.get(on)
        if found is None:  # the registry never changes: computed once per day
            if len(self._in_force) > 8:
                self._in_force.clear()
            found = self._in_force[on] = tuple(self.registry.in_force(on))
        return found

    def get(self, code_or_slug: str, on: date) -> Definition | None:
        return self.registry.current(code_or_slug, on) or self.registry.by_slug(code_or_slug, on)

    def agency(self, agency_id: str) -> Agency | None:
        return self.registry.agencies.get(agency_id)

    def search(self, query: str, on: date, limit: int = 50) -> list[Hit]:
        """Rank procedures in force by how well their names/keywords match ``query``.

        Matching is on folded text, so "chuyen truong" finds "Chuyển trường".
        Generic words ("thủ tục", "hồ sơ", "cho hỏi"...) do not count; at least
        60% of the remaining words must match, so a query about something the
        catalogue does not offer returns nothing (the assistant must never
        guess a procedure).
        """
        q = fold(query)
        procedures = self.procedures(on)
        if not q:
            return [Hit(d, 0.0) for d in procedures][:limit]
        all_words = tokens(query)
        q_words = [w for w in all_words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
        q_bigrams = set(zip(all_words, all_words[1:], strict=False))
        hits: list[Hit] = []
        for d in procedures:
            title, extra, words = self._index[(d.code, d.version)]
            score = 0.0
            if q in (d.code, fold(d.slug)):
                score += 100
            if len(q) >= 3 and q in title:
                score += 30 + 10 * len(q) / max(len(title), 1)
            elif len(q) >= 3 and q in extra:
                score += 20
            if q_words:
                matched = sum(1 for w in q_words if w in words)
                fraction = matched / len(q_words)
                if fraction >= 0.6:
                    score += 10 * fraction
                    text = title + " " + extra
                    if q_bigrams:
                        score += 10 * sum(1 for a, b in q_bigrams if f"{a} {b}" in text) / len(q_bigrams)
            if score > 0:
                hits.append(Hit(d, score))
        hits.sort(key=lambda h: (-h.score, h.definition.name.vi))
        if hits:  # far weaker matches are noise next to a strong one
            hits = [h for h in hits if h.score >= 0.35 * hits[0].score]
        return hits[:limit]


# Words that say nothing about which procedure is meant.
STOPWORDS = frozenset(
    fold(w)
    for w in """thủ tục hồ sơ thu tuc ho so hs tt làm lam xin cho hỏi hoi cần can giấy tờ giay to gì gi j
    như thế nào nhu the nao ở đâu o dau bao nhiêu bao nhieu bn muốn muon tôi toi em mình minh ạ a ah
    đăng ký dang ky dk nộp nop của cua và va con được duoc dc đc không khong ko k có co thì thi là la
    về ve với voi những nhung gồm gom phải phai sao vậy vay nào nao các cac một mot bạn ban ơi oi
    ad""".split()  # noqa: SIM905
)
