"""orders/ and distributions/ keep to the style guide's sizes: modules of at most 400
lines, functions of at most 50, folders of at most 15 modules side by side."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("orders", "distributions")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
MAX_MODULES_PER_FOLDER = 15


def _modules() -> list[Path]:
    found = []
    for app in APPS:
        found += [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    return sorted(found)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_the_rooms_have_modules_to_measure():
    assert len(_modules()) > 20


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_the_module_is_at_most_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_every_function_of_the_module_is_at_most_50_lines(path):
    too_long = [(name, lines) for name, lines in _functions(path) if lines > MAX_FUNCTION_LINES]
    assert too_long == []


def test_no_folder_holds_more_than_15_modules_side_by_side():
    per_folder: dict[Path, int] = {}
    for path in _modules():
        per_folder[path.parent] = per_folder.get(path.parent, 0) + 1
    crowded = {_name(f): n for f, n in per_folder.items() if n > MAX_MODULES_PER_FOLDER}
    assert crowded == {}


DOMAIN_APPS = ("accounts", "payments", "orders", "distributions")


def _imports_inside_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                found.append(node.module or "")
            elif isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
    return [name for name in found if name.split(".")[0] in DOMAIN_APPS]


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_the_module_imports_no_domain_app_inside_a_function(path):
    assert _imports_inside_functions(path) == []
