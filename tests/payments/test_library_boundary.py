"""payments/ is a library: no portal, FastAPI or database imports, and money never as float."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from payments.sandbox import IpnKnobs, SandboxConfig
from payments.vnpay import VNPayConfig

PACKAGE = Path(__file__).resolve().parents[2] / "payments"
FORBIDDEN = ("portal", "fastapi", "sqlalchemy", "alembic", "psycopg")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_forbidden_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    bad = [name for name in imported if name.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.name} imports {bad}"


def test_no_float_annotations_or_conversions_for_money() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AnnAssign | ast.arg) and "amount" in ast.unparse(node):
                annotation = node.annotation
                if annotation is not None and "float" in ast.unparse(annotation):
                    offenders.append(f"{path.name}:{node.lineno}")
            is_float_call = isinstance(node, ast.Call) and ast.unparse(node.func) == "float"
            if is_float_call and "amount" in ast.unparse(node):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_readme_documents_every_config_field() -> None:
    readme = (PACKAGE / "README.md").read_text(encoding="utf-8")
    missing = [
        f"{cls.__name__}.{f.name}"
        for cls in (VNPayConfig, SandboxConfig, IpnKnobs)
        for f in dataclasses.fields(cls)
        if f"`{f.name}`" not in readme
    ]
    assert missing == []
