"""Rooms a reader can take in: in payments/, accounts/ and cagette/, no module past
400 lines, no function past 50, no folder with more than 15 modules side by side."""

import ast
from collections import Counter

import pytest

from .code import ROOT, modules, tree

APPS = ("payments", "accounts", "cagette")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
MAX_MODULES_PER_FOLDER = 15


def _where(path, detail: str) -> str:
    return f"{path.relative_to(ROOT)}: {detail}"


@pytest.mark.parametrize("app", APPS)
def test_no_module_is_longer_than_400_lines(app):
    long = [
        _where(path, f"{lines} lines")
        for path in modules(app)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


@pytest.mark.parametrize("app", APPS)
def test_no_function_is_longer_than_50_lines(app):
    long = [
        _where(path, f"{node.name}() has {node.end_lineno - node.lineno + 1} lines")
        for path in modules(app)
        for node in ast.walk(tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize("app", APPS)
def test_no_folder_holds_more_than_15_modules(app):
    per_folder = Counter(path.parent.relative_to(ROOT) for path in modules(app))
    crowded = {folder: n for folder, n in per_folder.items() if n > MAX_MODULES_PER_FOLDER}
    assert crowded == {}
