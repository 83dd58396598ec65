"""The domain apps depend one way: accounts ← payments ← orders ← distributions.

An app imports only the apps below it, at module level; code that reads every
app (the market's home page, demo data, URL wiring) sits above them in
``cagette/``. An import hidden inside a function to dodge a cycle would mean a
room is misplaced, so none is allowed between domain apps.
"""

import pytest

from .code import DOMAIN_APPS, ROOT, app_of, imports, modules, where


def _cross_app_imports():
    """``(import, importing app, imported app)`` for each import between two domain apps."""
    for path in modules(*DOMAIN_APPS):
        app = path.relative_to(ROOT).parts[0]
        for item in imports(path):
            target = app_of(item.module)
            if target in DOMAIN_APPS and target != app:
                yield item, app, target


def test_no_domain_app_imports_another_inside_a_function():
    hidden = [where(item) for item, _app, _target in _cross_app_imports() if item.in_function]
    assert hidden == []


RANK = {app: index for index, app in enumerate(DOMAIN_APPS)}


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_each_domain_app_imports_only_the_apps_below_it(app):
    """A total order with no upward import: no cycle between the apps either."""
    upward = [
        where(item)
        for item, importer, target in _cross_app_imports()
        if importer == app and RANK[target] > RANK[app]
    ]
    assert upward == []


def test_the_domain_apps_import_nothing_of_cagettes_top_floor():
    """``cagette`` holds shared helpers below every app and the pages above them;
    the domain apps may use the helpers, never the pages, URLs or commands."""
    top_floor = ("cagette.views", "cagette.urls", "cagette.management")
    found = [
        where(item)
        for path in modules(*DOMAIN_APPS)
        for item in imports(path)
        if item.module.startswith(top_floor)
    ]
    assert found == []


def _is_views(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last == "views" or last.endswith("_views") or ".views." in f"{dotted}."


def test_no_view_imports_another_app_s_view():
    """A page shared by two apps belongs to one of them; what both need is a reading
    or a form, not a view."""
    found = [
        where(item)
        for path in modules(*DOMAIN_APPS, "cagette")
        if _is_views(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for item in imports(path)
        if app_of(item.module) in (*DOMAIN_APPS, "cagette")
        and _is_views(item.module)
        and app_of(item.module) != path.relative_to(ROOT).parts[0]
    ]
    assert found == []
