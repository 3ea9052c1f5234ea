"""Procedure definitions: versioned YAML validated by pydantic at load time.

A definition is everything the portal, the staff queues and the assistant
need to know about one administrative procedure in one version: documents,
form fields, fee, time limit, level, result delivery and the processing
workflow. Agencies are data with effective dates too (districts were
abolished on 1 July 2025; the code must not care which agency exists).

Errors name the file, the field path and the problem, so
``portal definitions check`` can tell an author exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFINITIONS_DIR = Path(__file__).with_name("definitions")

Lang = Literal["vi", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A user-facing string in Vietnamese (required) and English (optional)."""

    vi: str = Field(min_length=1)
    en: str | None = None

    def get(self, lang: str = "vi") -> str:
        return self.en if lang == "en" and self.en else self.vi

    def __str__(self) -> str:
        return self.vi


def _text(value: Any) -> Any:
    return {"vi": value} if isinstance(value, str) else value


class Agency(Strict):
    id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9.]{1,30}$", description="QCVN 102:2016 style agency id")
    name: Text
    short_name: Text | None = None
    address: str
    phone: str
    email: str
    hotline: str | None = None
    website: str | None = None
    effective_from: date
    effective_to: date | None = None
    succeeded_by: str | None = None
    note: str | None = None
    # false: online applications only from citizens signed in with the national electronic identity
    # (VNeID); phone/e-mail + password accounts not linked to it, and anonymous drafts, cannot submit
    password_accounts: bool = True

    _coerce = field_validator("name", "short_name", mode="before")(_text)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class Level(StrEnum):
    TOAN_TRINH = "toan_trinh"  # whole procedure online (former level 4)
    MOT_PHAN = "mot_phan"  # partly online (former level 3)


LEVEL_LABELS = {
    Level.TOAN_TRINH: Text(vi="Toàn trình", en="Fully online"),
    Level.MOT_PHAN: Text(vi="Một phần", en="Partly online"),
}


class Delivery(StrEnum):
    ONLINE = "online"
    POST = "post"
    DESK = "desk"


DELIVERY_LABELS = {
    Delivery.ONLINE: Text(vi="Nhận trực tuyến trên cổng", en="Download from the portal"),
    Delivery.POST: Text(vi="Qua dịch vụ bưu chính công ích", en="By public post"),
    Delivery.DESK: Text(vi="Tại Bộ phận Một cửa", en="At the one-stop desk"),
}


class Fee(Strict):
    amount: int = Field(ge=0, description="đồng per unit; 0 = no fee")
    unit: Literal["dossier", "page", "copy"] = "dossier"
    quantity_field: str | None = None
    max_amount: int | None = Field(default=None, ge=0)
    payable_online: bool = False
    pay_at: Literal["submission", "before_result"] = "submission"
    note: Text | None = None
    legal_basis: str | None = None

    _coerce = field_validator("note", mode="before")(_text)

    @property
    def is_free(self) -> bool:
        return self.amount == 0

    def total(self, quantity: int = 1) -> int:
        total = self.amount * max(quantity, 1)
        return min(total, self.max_amount) if self.max_amount is not None else total


class TimeLimit(Strict):
    working_days: int | None = Field(default=None, ge=1, le=120)
    same_day: bool = False
    note: Text | None = None

    _coerce = field_validator("note", mode="before")(_text)

    @model_validator(mode="after")
    def _one_of(self) -> TimeLimit:
        if self.same_day == (self.working_days is not None):
            raise ValueError("set exactly one of working_days or same_day: true")
        return self


class DocumentKind(StrEnum):
    ORIGINAL = "original"
    COPY = "copy"
    CERTIFIED_COPY = "certified_copy"
    ORIGINAL_OR_CERTIFIED_COPY = "original_or_certified_copy"
    PRESENTED = "presented"


DOCUMENT_KIND_LABELS = {
    DocumentKind.ORIGINAL: Text(vi="Bản chính", en="Original"),
    DocumentKind.COPY: Text(vi="Bản sao", en="Copy"),
    DocumentKind.CERTIFIED_COPY: Text(vi="Bản sao có chứng thực", en="Certified copy"),
    DocumentKind.ORIGINAL_OR_CERTIFIED_COPY: Text(
        vi="Bản chính hoặc bản sao có chứng thực", en="Original or certified copy"
    ),
    DocumentKind.PRESENTED: Text(vi="Xuất trình bản chính để đối chiếu", en="Show the original"),
}

FileType = Literal["pdf", "jpg", "jpeg", "png", "doc", "docx", "xls", "xlsx"]


class Document(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    kind: DocumentKind = DocumentKind.ORIGINAL
    quantity: int = Field(default=1, ge=1, le=20)
    required: bool = True
    file_types: tuple[FileType, ...] = ("pdf", "jpg", "png")
    max_size_mb: float = Field(default=5, gt=0, le=50)
    max_files: int = Field(default=5, ge=1, le=20)
    note: Text | None = None

    _coerce = field_validator("name", "note", mode="before")(_text)

    @property
    def max_bytes(self) -> int:
        return int(self.max_size_mb * 1024 * 1024)


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    DATE = "date"
    SELECT = "select"
    CCCD = "cccd"
    PHONE = "phone"
    EMAIL = "email"
    NUMBER = "number"
    ADDRESS = "address"
    SCHOOL = "school"
    STUDENT = "student"


class Option(Strict):
    value: str
    label: Text

    _coerce = field_validator("label", mode="before")(_text)


class FormField(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: Text
    help: Text | None = None
    required: bool = True
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int = Field(default=500, ge=1, le=5000)
    date_range: Literal["past", "future", "any"] = "any"

    _coerce = field_validator("label", "help", mode="before")(_text)

    @model_validator(mode="after")
    def _options(self) -> FormField:
        if self.type is FieldType.SELECT and not self.options:
            raise ValueError("options: a select field needs options")
        if self.type is not FieldType.SELECT and self.options:
            raise ValueError("options: only select fields take options")
        return self


# -- processing workflow ------------------------------------------------------

ROLES = ("citizen", "tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu", "ke_toan", "admin", "system")
RoleName = Literal["citizen", "tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu", "ke_toan", "admin", "system"]

EFFECTS = (
    "issue_receipt",
    "issue_supplement_request",
    "issue_refusal",
    "issue_apology",
    "issue_result",
    "issue_stop_notice",
    "notify_applicant",
    "pause_clock",
    "resume_clock",
    "stop_clock",
    "assign",
    "invite_rating",
)
Effect = Literal[
    "issue_receipt",
    "issue_supplement_request",
    "issue_refusal",
    "issue_apology",
    "issue_result",
    "issue_stop_notice",
    "notify_applicant",
    "pause_clock",
    "resume_clock",
    "stop_clock",
    "assign",
    "invite_rating",
]


class Reason(Strict):
    key: str
    label: Text

    _coerce = field_validator("label", mode="before")(_text)


class State(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    citizen_label: Text | None = None
    owner: RoleName | None = None  # whose queue the case sits in
    budget_days: int = Field(default=0, ge=0, description="working days this step may take")
    clock: Literal["running", "paused", "stopped"] = "running"
    final: bool = False
    outcome: Literal["result", "refused", "withdrawn", "stopped"] | None = None

    _coerce = field_validator("label", "citizen_label", mode="before")(_text)

    def public_label(self, lang: str = "vi") -> str:
        return (self.citizen_label or self.label).get(lang)


class Requires(Strict):
    comment: bool = False
    reason: bool = False
    new_date: bool = False
    items: bool = False  # a list of missing items (supplement request)
    assignee: bool = False
    documents: tuple[str, ...] = ()


class Action(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    to: str
    roles: tuple[RoleName, ...] = Field(min_length=1)
    requires: Requires = Requires()
    reasons: tuple[Reason, ...] = ()
    effects: tuple[Effect, ...] = ()
    once: bool = False  # may be taken at most once per case (e.g. supplement request)
    style: Literal["primary", "secondary", "danger"] = "secondary"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    _coerce = field_validator("label", mode="before")(_text)

    @property
    def stays(self) -> bool:
        """``to: "."`` keeps the case in its current state (e.g. an apology letter)."""
        return self.to == "."

    def target(self, current: str) -> str:
        return current if self.stays else self.to

    @model_validator(mode="after")
    def _reasons(self) -> Action:
        if self.requires.reason and not self.reasons:
            raise ValueError("requires.reason needs a list of reasons")
        return self


class Workflow(Strict):
    initial: str
    states: tuple[State, ...] = Field(min_length=2)
    actions: tuple[Action, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Workflow:
        keys = [s.key for s in self.states]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate state keys")
        if self.initial not in keys:
            raise ValueError(f"initial state '{self.initial}' is not among the states")
        akeys = [a.key for a in self.actions]
        if len(set(akeys)) != len(akeys):
            raise ValueError("duplicate action keys")
        finals = {s.key for s in self.states if s.final}
        if not finals:
            raise ValueError("the workflow needs at least one final state")
        for action in self.actions:
            for src in (*action.from_, *([] if action.stays else [action.to])):
                if src not in keys:
                    raise ValueError(f"action '{action.key}' names unknown state '{src}'")
            leaving = sorted(finals & set(action.from_))
            if leaving:
                raise ValueError(f"action '{action.key}' leaves final state(s) {leaving}")
        reachable, frontier = {self.initial}, [self.initial]
        while frontier:
            here = frontier.pop()
            for action in self.actions:
                if here in action.from_ and not action.stays and action.to not in reachable:
                    reachable.add(action.to)
                    frontier.append(action.to)
        unreachable = set(keys) - reachable
        if unreachable:
            raise ValueError(f"states not reachable from '{self.initial}': {sorted(unreachable)}")
        stuck = [k for k in keys if k not in finals and not any(k in a.from_ for a in self.actions)]
        if stuck:
            raise ValueError(f"non-final states without any action: {stuck}")
        return self

    def state(self, key: str) -> State:
        for s in self.states:
            if s.key == key:
                return s
        raise KeyError(key)

    def actions_from(self, state: str) -> list[Action]:
        return [a for a in self.actions if state in a.from_]

    def action(self, key: str) -> Action:
        for a in self.actions:
            if a.key == key:
                return a
        raise KeyError(key)


class Definition(Strict):
    code: str = Field(pattern=r"^[0-9]\.[0-9]{6}$|^[A-Z0-9.\-]{3,20}$", description="national procedure code")
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    effective_from: date
    effective_to: date | None = None
    name: Text
    summary: Text | None = None
    field_area: Text = Text(vi="Giáo dục và Đào tạo", en="Education and training")
    agencies: tuple[str, ...] = Field(
        min_length=1, description="agencies that receive it; the applicant picks one"
    )
    authority: Text
    applicants: Text | None = None
    legal_basis: tuple[Text, ...] = Field(min_length=1)
    level: Level
    fee: Fee
    time_limit: TimeLimit
    result: Text
    delivery: tuple[Delivery, ...] = Field(min_length=1)
    documents: tuple[Document, ...] = Field(min_length=1)
    fields: tuple[FormField, ...] = ()
    steps: tuple[Text, ...] = ()
    keywords: tuple[str, ...] = ()
    workflow: Workflow

    _coerce = field_validator(
        "name", "summary", "field_area", "authority", "applicants", "result", mode="before"
    )(_text)

    @field_validator("legal_basis", "steps", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return [_text(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> Definition:
        # Messages start with the field path; _format_errors moves it into the location.
        keyed = (("documents", [d.key for d in self.documents]), ("fields", [f.key for f in self.fields]))
        for what, keys in keyed:
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"{what}: duplicate keys {duplicates}")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to: is before effective_from")
        quantity_field = self.fee.quantity_field
        if quantity_field:
            field = next((f for f in self.fields if f.key == quantity_field), None)
            if field is None:
                raise ValueError(f"fee.quantity_field: '{quantity_field}' is not a form field")
            if field.type is not FieldType.NUMBER:
                raise ValueError(f"fee.quantity_field: '{quantity_field}' must be a number field")
        online_result = Delivery.ONLINE in self.delivery or Delivery.POST in self.delivery
        if self.level is Level.TOAN_TRINH and not online_result:
            raise ValueError("delivery: a toàn trình procedure must deliver the result online or by post")
        if self.level is Level.TOAN_TRINH and not self.fee.is_free and not self.fee.payable_online:
            raise ValueError("fee.payable_online: a toàn trình procedure with a fee must take the fee online")
        budget = sum(s.budget_days for s in self.workflow.states)
        limit = 0 if self.time_limit.same_day else self.time_limit.working_days
        if budget != limit:
            raise ValueError(
                f"workflow.budgets: the step budgets add up to {budget} working day(s) "
                f"but the time limit is {limit} (same-day procedures budget 0)"
            )
        return self

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @property
    def online_payment(self) -> bool:
        return not self.fee.is_free and self.fee.payable_online


# -- loading -----------------------------------------------------------------


class DefinitionError(Exception):
    """One or more definition files are invalid; ``problems`` lists them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_PATH_IN_MESSAGE = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_.]*): (.+)$", re.DOTALL)


def _format_errors(path: Path, error: ValidationError, prefix: str = "") -> list[str]:
    """``<file>: <field path>: <problem>`` lines; model-level checks name their field in the message."""
    out = []
    for item in error.errors():
        parts = [prefix] if prefix else []
        parts += [str(p) for p in item["loc"]]
        msg = item["msg"]
        found = _PATH_IN_MESSAGE.match(msg)
        if found:
            parts.append(found.group(1))
            msg = found.group(2)
        out.append(f"{path}: {'.'.join(parts) or '(top level)'}: {msg}")
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError([f"{path}: not valid YAML: {exc}"]) from exc


def _expand_workflow(raw: dict[str, Any], templates: dict[str, Any], path: Path) -> dict[str, Any]:
    """``workflow: {template: one_stop, budgets: {state: days}}`` → the template with budgets applied."""
    wf = raw.get("workflow")
    if not isinstance(wf, dict) or "template" not in wf:
        return raw
    extra = sorted(set(wf) - {"template", "budgets"})
    if extra:
        raise DefinitionError([f"{path}: workflow: unknown key(s) {extra} next to 'template'"])
    name = wf["template"]
    if name not in templates:
        problem = f"workflow.template: unknown template '{name}' (known: {sorted(templates)})"
        raise DefinitionError([f"{path}: {problem}"])
    base = yaml.safe_load(yaml.safe_dump(templates[name]))  # deep copy
    budgets = wf.get("budgets") or {}
    if not isinstance(budgets, dict):
        raise DefinitionError([f"{path}: workflow.budgets: expected a mapping of state key to working days"])
    known = {s["key"] for s in base["states"]}
    for key in budgets:
        if key not in known:
            raise DefinitionError([f"{path}: workflow.budgets.{key}: no such state in template '{name}'"])
    for state in base["states"]:
        if state["key"] in budgets:
            state["budget_days"] = budgets[state["key"]]
    return {**raw, "workflow": base}


class Registry:
    """All agencies and definition versions, indexed for the portal."""

    def __init__(self, agencies: Iterable[Agency], definitions: Iterable[Definition]) -> None:
        self.agencies: dict[str, Agency] = {a.id: a for a in agencies}
        self._versions: dict[str, list[Definition]] = {}
        for d in definitions:
            self._versions.setdefault(d.code, []).append(d)
        for versions in self._versions.values():
            versions.sort(key=lambda d: d.version)

    def codes(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, code: str) -> list[Definition]:
        return list(self._versions.get(code, []))

    def get(self, code: str, version: int) -> Definition:
        for d in self._versions.get(code, []):
            if d.version == version:
                return d
        raise KeyError(f"{code} v{version}")

    def current(self, code: str, on: date) -> Definition | None:
        """The version in force on ``on`` (the newest one if several overlap)."""
        for d in reversed(self._versions.get(code, [])):
            if d.in_force(on):
                return d
        return None

    def by_slug(self, slug: str, on: date) -> Definition | None:
        for code in self._versions:
            d = self.current(code, on)
            if d is not None and d.slug == slug:
                return d
        return None

    def in_force(self, on: date) -> list[Definition]:
        found = [self.current(code, on) for code in self._versions]
        return sorted((d for d in found if d is not None), key=lambda d: d.name.vi)

    def agency(self, agency_id: str) -> Agency:
        return self.agencies[agency_id]


def load_registry(directory: Path | None = None) -> Registry:
    """Load and validate every file; raise DefinitionError listing all problems."""
    directory = directory or DEFINITIONS_DIR
    problems: list[str] = []
    agencies = _load_agencies(directory / "agencies.yaml", problems)
    templates: dict[str, Any] = {}
    for path in sorted((directory / "workflows").glob("*.yaml")):
        try:
            template = _read_yaml(path)
        except DefinitionError as exc:
            problems += exc.problems
            continue
        if not isinstance(template, dict) or not isinstance(template.get("states"), list):
            problems.append(f"{path}: states: a workflow template needs a list of states")
            continue
        templates[path.stem] = template
    loaded: list[tuple[Path, Definition]] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "agencies.yaml":
            continue
        try:
            raw = _read_yaml(path)
            if not isinstance(raw, dict):
                raise DefinitionError([f"{path}: (top level): expected a mapping"])
            loaded.append((path, Definition.model_validate(_expand_workflow(raw, templates, path))))
        except ValidationError as exc:
            problems += _format_errors(path, exc)
        except DefinitionError as exc:
            problems += exc.problems
    problems += _cross_check(loaded, {a.id: a for a in agencies})
    if problems:
        raise DefinitionError(problems)
    return Registry(agencies, [d for _, d in loaded])


def _load_agencies(path: Path, problems: list[str]) -> list[Agency]:
    if not path.exists():
        problems.append(f"{path}: missing")
        return []
    try:
        raw = _read_yaml(path) or {}
    except DefinitionError as exc:
        problems += exc.problems
        return []
    items = raw.get("agencies") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        problems.append(f"{path}: agencies: expected a list of agencies")
        return []
    agencies: list[Agency] = []
    for i, item in enumerate(items):
        try:
            agencies.append(Agency.model_validate(item))
        except ValidationError as exc:
            problems += _format_errors(path, exc, prefix=f"agencies.{i}")
    ids = [a.id for a in agencies]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"{path}: agencies: duplicate ids {duplicates}")
    return agencies


def _cross_check(loaded: list[tuple[Path, Definition]], agencies: dict[str, Agency]) -> list[str]:
    """Checks that need more than one file: agencies, file names, duplicate versions and slugs."""
    problems: list[str] = []
    seen: dict[tuple[str, int], Path] = {}
    slug_codes: dict[str, str] = {}
    for path, d in loaded:
        expected = f"{d.slug}.v{d.version}.yaml"
        if path.name != expected:
            problems.append(f"{path}: slug: file name should be '{expected}' (<slug>.v<version>.yaml)")
        for i, agency_id in enumerate(d.agencies):
            agency = agencies.get(agency_id)
            if agency is None:
                problems.append(f"{path}: agencies.{i}: unknown agency '{agency_id}'")
            elif not _overlaps(agency, d):
                problems.append(
                    f"{path}: agencies.{i}: agency '{agency_id}' is not in force at any time while this "
                    f"version is ({d.effective_from} – {d.effective_to or '…'})"
                )
        other = seen.setdefault((d.code, d.version), path)
        if other != path:
            problems.append(f"{path}: version: {d.code} v{d.version} is also defined in {other}")
        if slug_codes.setdefault(d.slug, d.code) != d.code:
            problems.append(f"{path}: slug: '{d.slug}' is already used by procedure {slug_codes[d.slug]}")
    return problems


def _overlaps(agency: Agency, d: Definition) -> bool:
    starts_in_time = d.effective_to is None or agency.effective_from <= d.effective_to
    ends_in_time = agency.effective_to is None or agency.effective_to >= d.effective_from
    return starts_in_time and ends_in_time
