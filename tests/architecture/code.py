"""Reading the project's own modules with `ast`, for the architecture tests."""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The domain apps, from the ground floor up: each may import those before it.
DOMAIN_APPS = ("accounts", "payments", "orders", "distributions")


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # absolute, dotted
    in_function: bool


def modules(*apps: str) -> Iterator[Path]:
    """Every Python module of ``apps``, migrations left out."""
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts if parts[-1] == "__init__" and parts.pop() is not None else parts[:-1]


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = package_of(path)
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path) -> Iterator[Import]:
    """Every import of ``path``, each told whether it sits inside a function."""

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(path, child.lineno, alias.name, in_function)
            elif isinstance(child, ast.ImportFrom):
                yield Import(path, child.lineno, _absolute(path, child), in_function)
            yield from visit(child, inside)

    yield from visit(tree(path), False)


def app_of(module: str) -> str:
    return module.split(".", 1)[0]


def where(item: Import) -> str:
    return f"{item.path.relative_to(ROOT)}:{item.line} imports {item.module}"
