"""Shipped procedure definitions load; broken ones are refused with file, field path and problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflows.definitions import (
    DEFINITIONS_DIR,
    Definition,
    DefinitionError,
    Delivery,
    FieldType,
    Level,
    Registry,
    load_registry,
)
from workflows.text import fold

FIXTURES = Path(__file__).with_name("fixtures") / "definitions"
WARDS = {"H29.41.01", "H29.41.02", "H29.41.03", "H29.41.04", "H29.41.05"}
DISTRICT_12 = "H29.12.10"
EXPECTED_CODES = {
    "2.002481",  # chuyển trường THCS
    "1.005092",  # cấp bản sao văn bằng từ sổ gốc
    "2.001914",  # chỉnh sửa văn bằng
    "1.004555",  # thành lập trường tiểu học
    "1.004443",  # cho phép trường mầm non hoạt động
    "1.004494",  # nhóm trẻ, lớp mẫu giáo độc lập
    "1.008950",  # hỗ trợ ăn trưa
    "1.009394",  # miễn, giảm học phí
    "1.011520",  # tuyển sinh lớp 1, lớp 6
}

REGISTRY = load_registry()
ALL = [d for code in REGISTRY.codes() for d in REGISTRY.versions(code)]


def by_id(d: Definition) -> str:
    return f"{d.slug}.v{d.version}"


# -- shipped files -----------------------------------------------------------


def test_every_shipped_file_is_a_loaded_definition() -> None:
    files = sorted(p.name for p in DEFINITIONS_DIR.glob("*.yaml") if p.name != "agencies.yaml")
    assert sorted(f"{by_id(d)}.yaml" for d in ALL) == files


def test_the_catalogue_has_every_procedure_of_the_seed() -> None:
    assert set(REGISTRY.codes()) == EXPECTED_CODES


@pytest.mark.parametrize("definition", ALL, ids=by_id)
def test_budgets_add_up_to_the_time_limit(definition: Definition) -> None:
    budget = sum(s.budget_days for s in definition.workflow.states)
    expected = 0 if definition.time_limit.same_day else definition.time_limit.working_days
    assert budget == expected


@pytest.mark.parametrize("definition", ALL, ids=by_id)
def test_agencies_match_the_era(definition: Definition) -> None:
    if definition.effective_from >= date(2025, 7, 1):
        assert set(definition.agencies) == WARDS
    else:
        assert definition.agencies == (DISTRICT_12,)
        assert definition.effective_to == date(2025, 6, 30)
        assert any("61/2018" in t.vi for t in definition.legal_basis)


@pytest.mark.parametrize("definition", ALL, ids=by_id)
def test_definitions_are_complete_enough_to_apply(definition: Definition) -> None:
    assert definition.summary is not None
    assert definition.steps, "steps"
    assert any(d.required for d in definition.documents) or definition.code == "1.011520"
    assert definition.fields, "procedure-specific fields"
    for f in definition.fields:
        assert f.label.en, f"{f.key}: English label"
    # people type without accents: at least one keyword already is the folded form
    assert any(fold(k) == k for k in definition.keywords)


@pytest.mark.parametrize("definition", ALL, ids=by_id)
def test_fully_online_procedures_deliver_online_or_by_post(definition: Definition) -> None:
    if definition.level is Level.TOAN_TRINH:
        assert {Delivery.ONLINE, Delivery.POST} & set(definition.delivery)


def test_diploma_copy_charges_per_copy_online() -> None:
    d = REGISTRY.current("1.005092", date(2026, 1, 5))
    assert d is not None
    assert d.time_limit.same_day and d.level is Level.TOAN_TRINH
    assert set(d.delivery) == {Delivery.ONLINE, Delivery.POST}
    assert d.online_payment
    quantity = next(f for f in d.fields if f.key == d.fee.quantity_field)
    assert quantity.type is FieldType.NUMBER
    assert d.fee.total(3) == 6_000


def test_only_the_diploma_copy_has_a_fee() -> None:
    assert [d.code for d in ALL if not d.fee.is_free] == ["1.005092"]


@pytest.mark.parametrize(
    ("code", "on", "version"),
    [
        ("2.002481", date(2024, 5, 1), 1),
        ("2.002481", date(2025, 6, 30), 1),
        ("2.002481", date(2025, 7, 1), 2),
        ("2.002481", date(2026, 5, 1), 2),
        ("2.001914", date(2024, 5, 1), 1),
        ("2.001914", date(2026, 5, 1), 2),
        ("1.009394", date(2025, 8, 15), 1),
        ("1.009394", date(2025, 9, 3), 2),
    ],
)
def test_current_picks_the_version_in_force(code: str, on: date, version: int) -> None:
    current = REGISTRY.current(code, on)
    assert current is not None
    assert current.version == version


def test_nothing_in_force_before_the_first_version() -> None:
    assert REGISTRY.current("2.002481", date(2021, 12, 31)) is None
    assert REGISTRY.current("1.005092", date(2024, 5, 1)) is None


def test_by_slug_follows_the_date() -> None:
    old = REGISTRY.by_slug("chinh-sua-van-bang", date(2024, 1, 1))
    new = REGISTRY.by_slug("chinh-sua-van-bang", date(2026, 1, 1))
    assert old is not None and old.agencies == (DISTRICT_12,)
    assert new is not None and set(new.agencies) == WARDS


# -- broken files ------------------------------------------------------------


def registry_dir(tmp_path: Path, *fixtures: str) -> Path:
    """A definitions directory with the shipped agencies and templates plus the given fixture files."""
    root = tmp_path / "definitions"
    (root / "workflows").mkdir(parents=True)
    shutil.copy(DEFINITIONS_DIR / "agencies.yaml", root / "agencies.yaml")
    for template in (DEFINITIONS_DIR / "workflows").glob("*.yaml"):
        shutil.copy(template, root / "workflows" / template.name)
    for name in fixtures:
        shutil.copy(FIXTURES / name, root / name)
    return root


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_registry(directory)
    return caught.value.problems


def test_the_valid_fixture_loads(tmp_path: Path) -> None:
    registry = load_registry(registry_dir(tmp_path, "valid-procedure.v1.yaml"))
    assert isinstance(registry, Registry)
    assert registry.codes() == ["9.000001"]


@pytest.mark.parametrize(
    ("fixture", "field_path", "problem"),
    [
        ("bad-yaml.v1.yaml", "", "not valid YAML"),
        ("missing-field.v1.yaml", ": result:", "Field required"),
        ("unknown-agency.v1.yaml", ": agencies.1:", "unknown agency 'H29.99.99'"),
        ("bad-workflow-ref.v1.yaml", ": workflow.template:", "unknown template 'one_stp'"),
        ("select-without-options.v1.yaml", ": fields.1.options:", "a select field needs options"),
        ("toan-trinh-fee-offline.v1.yaml", ": fee.payable_online:", "must take the fee online"),
    ],
)
def test_broken_file_is_refused_with_file_field_and_problem(
    tmp_path: Path, fixture: str, field_path: str, problem: str
) -> None:
    directory = registry_dir(tmp_path, "valid-procedure.v1.yaml", fixture)
    problems = problems_of(directory)
    assert len(problems) == 1, problems
    message = problems[0]
    assert message.startswith(f"{directory / fixture}{field_path}")
    assert problem in message


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    fixtures = ["missing-field.v1.yaml", "unknown-agency.v1.yaml", "bad-workflow-ref.v1.yaml"]
    problems = problems_of(registry_dir(tmp_path, *fixtures))
    assert [p.split(":")[0].rsplit("/", 1)[-1] for p in problems] == sorted(fixtures)


def write_variant(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """The valid fixture, changed by ``change`` and saved as ``name`` in a fresh registry directory."""
    directory = registry_dir(tmp_path)
    raw = yaml.safe_load((FIXTURES / "valid-procedure.v1.yaml").read_text(encoding="utf-8"))
    change(raw)
    (directory / name).write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw["workflow"].update(budgets={"dang_tham_dinh": 2}),
            "workflow.budgets: the step budgets add up to 2 working day(s) but the time limit is 3",
        ),
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw["workflow"].update(budgets={"dang_xu_ly": 3}),
            "workflow.budgets.dang_xu_ly: no such state in template 'one_stop'",
        ),
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw["workflow"].update(budget={"dang_tham_dinh": 3}),
            "workflow: unknown key(s) ['budget']",
        ),
        (
            "valid-procedure.v2.yaml",
            lambda raw: None,
            "slug: file name should be 'valid-procedure.v1.yaml'",
        ),
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw.update(agencies=[DISTRICT_12]),
            "agencies.0: agency 'H29.12.10' is not in force",
        ),
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw["fee"].update(quantity_field="so_ban"),
            "fee.quantity_field: 'so_ban' is not a form field",
        ),
        (
            "valid-procedure.v1.yaml",
            lambda raw: raw["documents"].append({"key": "don", "name": "Lần nữa"}),
            "documents: duplicate keys ['don']",
        ),
    ],
)
def test_cross_checks_name_the_file_and_field(
    tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    directory = write_variant(tmp_path, name, change)
    problems = problems_of(directory)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{directory / name}: {expected}")


def test_the_same_version_twice_is_refused(tmp_path: Path) -> None:
    directory = registry_dir(tmp_path, "valid-procedure.v1.yaml")
    raw = yaml.safe_load((FIXTURES / "valid-procedure.v1.yaml").read_text(encoding="utf-8"))
    raw["slug"] = "valid-procedure-copy"
    (directory / "valid-procedure-copy.v1.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    problems = problems_of(directory)
    assert any("version: 9.000001 v1 is also defined in" in p for p in problems), problems
