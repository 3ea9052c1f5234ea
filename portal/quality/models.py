"""Service-quality tables: per-case facts, monthly roll-ups, satisfaction ratings, feedback.

``quality_case_facts`` holds one row per submitted case with everything the
Decision 766 indicators need (kept up to date when the case's history, result,
payment, rating or feedback changes — see :mod:`portal.quality.tracking`).
``quality_monthly`` adds those rows up per agency, procedure and month of
receipt, so a year's dashboard reads a few hundred rows instead of every case;
only open cases (whose lateness depends on today's date) are read from the
facts, through a partial index.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow

_BIGID = BigInteger().with_variant(Integer, "sqlite")

# Overall satisfaction (mức độ hài lòng), the scale used by provincial portals.
VERY_SATISFIED, SATISFIED, UNSATISFIED = "rat_hai_long", "hai_long", "khong_hai_long"
SATISFACTION_LEVELS = (VERY_SATISFIED, SATISFIED, UNSATISFIED)

# Case outcomes (workflow ``outcome`` of final states).
RESULT, REFUSED, WITHDRAWN = "result", "refused", "withdrawn"
RATEABLE_OUTCOMES = (RESULT, REFUSED)


class CaseFacts(Base):
    """What the indicators need to know about one submitted case (no personal data)."""

    __tablename__ = "quality_case_facts"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(32))
    procedure_code: Mapped[str] = mapped_column(String(20))
    month: Mapped[date] = mapped_column(Date)  # first day of the month of receipt (Vietnam time)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    channel: Mapped[str] = mapped_column(String(10))  # online | desk
    due_date: Mapped[date | None] = mapped_column(Date)  # appointment date, supplement pauses excluded
    paused_since: Mapped[date | None] = mapped_column(Date)  # waiting for the applicant's supplement
    supplement_requests: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    outcome: Mapped[str | None] = mapped_column(String(12))  # result | refused | withdrawn
    late: Mapped[bool | None] = mapped_column(Boolean)  # closed cases: Decision 766 late
    processing_days: Mapped[int | None] = mapped_column(Integer)  # working days, pauses excluded
    fee_bearing: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_online: Mapped[bool] = mapped_column(Boolean, default=False)
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    e_result: Mapped[bool] = mapped_column(Boolean, default=False)  # a signed electronic result exists
    rating: Mapped[str | None] = mapped_column(String(16))  # overall satisfaction, if rated
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)  # feedback about this case
    invited_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # rating invitation sent
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    __table_args__ = (
        Index(
            "ix_quality_case_facts_open",
            "month",
            "agency_id",
            "procedure_code",
            postgresql_include=["due_date", "paused_since", "supplement_requests"],  # index-only scans
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )


# Counters of quality_monthly, each the sum over the bucket's cases of one contribution
# (see portal.quality.facts.contribution). Open cases' lateness is not among them: it
# depends on the day the dashboard is read.
MONTHLY_COUNTERS = (
    "received",
    "online",
    "withdrawn",
    "decided",  # closed with a result or a refusal
    "decided_late",
    "processing_days",
    "results",  # closed with a result
    "results_digitised",  # ... with input files attached and an electronic result
    "with_attachments",
    "fee_bearing",
    "paid_online",
    "complaint_or_unsatisfied",  # not withdrawn, with a complaint or an unsatisfied rating
    "ratings",
    "rated_very_satisfied",
    "rated_satisfied",
    "rated_unsatisfied",
)


class MonthlyQuality(Base):
    __tablename__ = "quality_monthly"

    agency_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    decided: Mapped[int] = mapped_column(Integer, default=0)
    decided_late: Mapped[int] = mapped_column(Integer, default=0)
    processing_days: Mapped[int] = mapped_column(BigInteger, default=0)
    results: Mapped[int] = mapped_column(Integer, default=0)
    results_digitised: Mapped[int] = mapped_column(Integer, default=0)
    with_attachments: Mapped[int] = mapped_column(Integer, default=0)
    fee_bearing: Mapped[int] = mapped_column(Integer, default=0)
    paid_online: Mapped[int] = mapped_column(Integer, default=0)
    complaint_or_unsatisfied: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    rated_very_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_unsatisfied: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_quality_monthly_month", "month", "agency_id"),)


class Rating(Base):
    """The applicant's satisfaction rating (đánh giá mức độ hài lòng) of one finished case."""

    __tablename__ = "quality_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    agency_id: Mapped[str] = mapped_column(String(32))  # copied from the case, for staff lists
    overall: Mapped[str] = mapped_column(String(16))  # SATISFACTION_LEVELS
    on_time: Mapped[str] = mapped_column(String(16))  # som | dung_hen | tre_hen
    staff_attitude: Mapped[str] = mapped_column(String(16))  # SATISFACTION_LEVELS
    ease_of_use: Mapped[str] = mapped_column(String(16))  # SATISFACTION_LEVELS
    contacts: Mapped[str] = mapped_column(String(8))  # 1 | 2 | 3+ (times the applicant had to come/call)
    comment: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(10))  # link | code (code + phone)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    editable_until: Mapped[datetime] = mapped_column(AwareDateTime())
    edits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_quality_ratings_agency", "agency_id", "created_at"),)


# Feedback (phản ánh, kiến nghị) states.
FB_NEW, FB_NEEDS_INFO, FB_IN_PROGRESS, FB_ANSWERED, FB_REFUSED = (
    "moi",
    "can_bo_sung",
    "dang_xu_ly",
    "da_tra_loi",
    "tu_choi",
)
FB_OPEN = (FB_NEW, FB_NEEDS_INFO, FB_IN_PROGRESS)
FB_KINDS = ("phan_anh", "kien_nghi")  # complaint about how things were handled | suggestion


class Feedback(Base):
    """A complaint or suggestion about a case or a procedure, handled by the responsible agency."""

    __tablename__ = "quality_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    agency_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(15))
    email: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=FB_NEW)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    refuse_due: Mapped[date] = mapped_column(Date)  # refuse (không tiếp nhận) within 2 working days
    info_due: Mapped[date] = mapped_column(Date)  # ask for more information within 5
    resolve_due: Mapped[date] = mapped_column(Date)  # answer within 15
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    handler_id: Mapped[int | None] = mapped_column(Integer)  # staff_members.id who last acted
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (Index("ix_quality_feedback_queue", "agency_id", "status", "resolve_due", "id"),)

    @property
    def is_open(self) -> bool:
        return self.status in FB_OPEN


class FeedbackEvent(Base):
    """History of a feedback: who did what, when (never updated)."""

    __tablename__ = "quality_feedback_events"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("quality_feedback.id"), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    actor_kind: Mapped[str] = mapped_column(String(10))  # citizen | staff
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # taken after its deadline


__all__ = [
    "CaseFacts",
    "Feedback",
    "FeedbackEvent",
    "MonthlyQuality",
    "Rating",
]
