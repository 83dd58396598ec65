"""Every table of amounts on a page uses the one phone layout (`table-stack`).

The 390 px browser test (tests/e2e/test_phone_layout.py) proves the pages it
opens; this keeps a table added later from being laid out for a desktop only.
"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TABLE = re.compile(r"<table\b(?P<attrs>[^>]*)>(?P<body>.*?)</table>", re.S)

# Tables that stay tables on a phone: a label and its amount on each line, or
# the shop's few columns with the quantity to type.
KEPT = {
    ("distributions/cash/summary.html", "method-totals"),
    ("distributions/cash/summary.html", "till"),
    ("distributions/cash/summary.html", "online-refunds"),
    ("orders/_instructions.html", None),
    ("orders/shop.html", None),
}


def _money_tables():
    for path in sorted(TEMPLATES.rglob("*.html")):
        relative = path.relative_to(TEMPLATES)
        if {"emails", "pdf"} & set(relative.parts):
            continue  # mail clients and the PDF renderer have fixed widths
        for table in TABLE.finditer(path.read_text()):
            if "|euros" in table["body"]:
                found = re.search(r'\bid="([^"]+)"', table["attrs"])
                yield str(relative), found and found[1], table["attrs"]


def test_every_table_of_amounts_stacks_on_a_phone_unless_kept_as_label_and_amount():
    flat = [
        (path, table_id)
        for path, table_id, attrs in _money_tables()
        if "table-stack" not in attrs and (path, table_id) not in KEPT
    ]
    assert flat == []


def test_the_tables_kept_flat_still_exist():
    kept = {(path, table_id) for path, table_id, _attrs in _money_tables()}
    assert KEPT <= kept
