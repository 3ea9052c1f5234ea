"""Rules for satisfaction ratings and the quality dashboard. Never commits.

Ratings: one per case, by the applicant only (the signed link from the
invitation e-mail, tracking page or receipt; or the case code + the phone
number given when applying), once the case was closed by an action with the
``invite_rating`` effect (a result returned, or a refusal); editable for
``settings.rating_edit_days`` days after it was first given.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from portal.applications.service import loaded_events
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import Application, CaseEvent
from portal.quality.facts import invites_rating
from portal.quality.indicators import Counts, Indicators, combine
from portal.quality.models import SATISFACTION_LEVELS, Rating
from portal.quality.repository import Filters, QualityRepository
from portal.quality.tokens import rating_path, token_ok
from workflows.definitions import Registry

LEVELS = (
    ("rat_hai_long", "Rất hài lòng"),
    ("hai_long", "Hài lòng"),
    ("khong_hai_long", "Không hài lòng"),
)
ON_TIME = (("som_hon", "Sớm hơn ngày hẹn"), ("dung_hen", "Đúng ngày hẹn"), ("tre_hen", "Trễ hẹn"))
CONTACTS = (("1", "1 lần"), ("2", "2 lần"), ("3+", "3 lần trở lên"))
LEVEL_LABELS = dict(LEVELS)


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    choices: tuple[tuple[str, str], ...]
    missing: str


CRITERIA = (
    Criterion(
        "overall",
        "Mức độ hài lòng chung về việc giải quyết hồ sơ",
        LEVELS,
        "Vui lòng chọn mức độ hài lòng chung.",
    ),
    Criterion(
        "on_time",
        "Thời gian nhận kết quả so với ngày hẹn",
        ON_TIME,
        "Vui lòng cho biết hồ sơ được trả sớm, đúng hay trễ hẹn.",
    ),
    Criterion(
        "staff_attitude",
        "Thái độ phục vụ của cán bộ (không gây phiền hà, sách nhiễu)",
        LEVELS,
        "Vui lòng đánh giá thái độ phục vụ của cán bộ.",
    ),
    Criterion(
        "ease_of_use",
        "Mức độ dễ dàng khi nộp và theo dõi hồ sơ",
        LEVELS,
        "Vui lòng đánh giá mức độ dễ dàng khi nộp và theo dõi hồ sơ.",
    ),
    Criterion(
        "contacts",
        "Số lần phải liên hệ cơ quan để hoàn thành hồ sơ",
        CONTACTS,
        "Vui lòng chọn số lần phải liên hệ cơ quan.",
    ),
)
COMMENT_MAX = 1000


@dataclass(frozen=True)
class RatingState:
    rateable: bool
    reason: str  # why not, when not rateable
    rating: Rating | None
    editable: bool


class RatingService:
    def __init__(self, repo: QualityRepository, registry: Registry, secret: str, edit_days: int) -> None:
        self.repo = repo
        self.registry = registry
        self.secret = secret
        self.edit_days = edit_days

    # -- access ------------------------------------------------------------------------------

    def link(self, application_id: str) -> str:
        return rating_path(self.secret, application_id)

    def case_for_token(self, application_id: str, token: str | None) -> Application:
        app = self.repo.application(application_id)
        if app is None or app.is_draft or not token_ok(self.secret, application_id, token):
            raise NotFound(
                "Đường dẫn đánh giá không đúng hoặc đã bị thay đổi; vui lòng dùng đường dẫn "
                "trong thư mời đánh giá, hoặc nhập mã hồ sơ và số điện thoại."
            )
        return app

    def case_for_code(self, case_code: str, phone: str) -> Application | None:
        app = self.repo.application_by_code(case_code.strip().upper())
        if app is None or app.is_draft or not app.applicant_phone:
            return None
        return app if hmac.compare_digest(app.applicant_phone, phone) else None

    # -- rules ---------------------------------------------------------------------------------

    def state(self, app: Application, now: datetime) -> RatingState:
        rating = self.repo.rating(app.id)
        if rating is not None:
            return RatingState(True, "", rating, now <= rating.editable_until)
        definition = self.registry.get(app.procedure_code, app.definition_version)
        events = loaded_events(app) or self.repo.events(app.id)  # loaded with the case when tracked
        if not invites_rating(definition, events):
            return RatingState(
                False,
                "Hồ sơ chưa có kết quả giải quyết. Bạn có thể đánh giá sau khi nhận kết quả "
                "hoặc thông báo từ chối giải quyết.",
                None,
                False,
            )
        return RatingState(True, "", None, True)

    def save(
        self, app: Application, values: dict[str, str], *, via: str, now: datetime, actor_id: str
    ) -> Rating:
        """Create or change the case's rating; ValidationFailed / Conflict with Vietnamese messages."""
        state = self.state(app, now)
        if not state.rateable:
            raise Conflict(state.reason)
        if state.rating is not None and not state.editable:
            raise Conflict(
                f"Đánh giá chỉ được sửa trong {self.edit_days} ngày kể từ khi gửi; thời hạn này đã hết."
            )
        cleaned = validate_rating(values)
        rating = state.rating
        if rating is None:
            rating = Rating(
                application_id=app.id,
                agency_id=app.agency_id or "",
                via=via,
                created_at=now,
                updated_at=now,
                editable_until=now + timedelta(days=self.edit_days),
                edits=0,
                **cleaned,
            )
            if self.repo.add_rating(rating) is None:
                raise Conflict("Hồ sơ này vừa được đánh giá từ một phiên khác; vui lòng tải lại trang.")
            kind, label = "rated", "Người nộp đã đánh giá mức độ hài lòng."
        else:
            for key, value in cleaned.items():
                setattr(rating, key, value)
            rating.updated_at = now
            rating.edits += 1
            kind, label = "rating_changed", "Người nộp đã sửa đánh giá mức độ hài lòng."
        self.repo.add_case_event(
            CaseEvent(
                application_id=app.id,
                kind=kind,
                at=now,
                actor_kind="citizen",
                actor_id=actor_id,
                actor_name=None,
                details={"label": label, "overall": cleaned["overall"], "via": via},
                public=False,
            )
        )
        return rating

    def for_agency(self, agency_id: str, *, before_id: int | None = None) -> list[dict[str, Any]]:
        rows = []
        for rating, case_code, code, version in self.repo.ratings_for_agency(agency_id, before_id=before_id):
            definition = self.registry.get(code, version)
            rows.append(
                {
                    "rating": rating,
                    "case_code": case_code,
                    "procedure": definition.name.vi,
                    "application_id": rating.application_id,
                }
            )
        return rows


def validate_rating(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for criterion in CRITERIA:
        value = (values.get(criterion.key) or "").strip()
        if value not in {v for v, _ in criterion.choices}:
            errors[criterion.key] = criterion.missing
        cleaned[criterion.key] = value
    comment = (values.get("comment") or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"Ý kiến góp ý không quá {COMMENT_MAX} ký tự (hiện có {len(comment)})."
    cleaned["comment"] = comment
    if errors:
        raise ValidationFailed(fields=errors)
    assert cleaned["overall"] in SATISFACTION_LEVELS
    return cleaned


# -- dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: Any
    label: str
    indicators: Indicators


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    today: date
    total: Indicators
    by_month: list[Row]
    by_agency: list[Row]
    by_procedure: list[Row]
    detail: list[Row] = field(default_factory=list)  # per agency × procedure × month (exports)


def months_between(start: date, end: date) -> list[date]:
    months, day = [], date(start.year, start.month, 1)
    while day <= end:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


class DashboardService:
    def __init__(self, repo: QualityRepository, registry: Registry) -> None:
        self.repo = repo
        self.registry = registry

    def agency_name(self, agency_id: str) -> str:
        agency = self.registry.agencies.get(agency_id)
        return agency.name.vi if agency is not None else agency_id

    def procedure_name(self, code: str) -> str:
        versions = self.registry.versions(code) if code in self.registry.codes() else []
        return versions[-1].name.vi if versions else code

    def build(self, filters: Filters, today: date, *, detail: bool = False) -> Dashboard:
        monthly = self.repo.monthly(filters)
        open_rows = self.repo.open_cases(filters, today)
        total = combine(monthly, open_rows, lambda r: "all").get("all", Counts())
        per_month = combine(monthly, open_rows, lambda r: r["month"])
        per_agency = combine(monthly, open_rows, lambda r: r["agency_id"])
        per_procedure = combine(monthly, open_rows, lambda r: r["procedure_code"])
        by_month = [
            Row(m, f"{m:%m/%Y}", Indicators(per_month.get(m, Counts())))
            for m in months_between(filters.start, filters.end)
        ]
        by_agency = sorted(
            (Row(a, self.agency_name(str(a)), Indicators(c)) for a, c in per_agency.items()),
            key=lambda r: r.label,
        )
        by_procedure = sorted(
            (Row(p, self.procedure_name(str(p)), Indicators(c)) for p, c in per_procedure.items()),
            key=lambda r: r.label,
        )
        rows: list[Row] = []
        if detail:
            per_cell = combine(
                monthly, open_rows, lambda r: (r["agency_id"], r["procedure_code"], r["month"])
            )
            for key in sorted(per_cell, key=lambda k: (k[0], k[1], k[2])):  # type: ignore[index]
                agency_id, code, month = cast(tuple[str, str, date], key)
                rows.append(
                    Row(
                        key,
                        f"{self.agency_name(agency_id)} — {self.procedure_name(code)} — {month:%m/%Y}",
                        Indicators(per_cell[key]),
                    )
                )
        return Dashboard(filters, today, Indicators(total), by_month, by_agency, by_procedure, rows)
