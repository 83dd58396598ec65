"""French typography: a no-break space before ? ! ; : and inside « », in every source string.

The templates' text, the French strings of Python gettext calls and the
catalogue's msgids are all read (see `tests.typography` for what counts as
French punctuation). A fault is reported with its file, line and words.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from cagette.templatetags.money import euros, quantity_unit
from orders.models import Unit
from tests.typography import (
    NBSP,
    excerpt,
    faults,
    fixed,
    line_of,
    po_fixed,
    po_messages,
    project_root,
    python_strings,
    template_view,
)

ROOT = project_root()
APPS = ["accounts", "cagette", "distributions", "orders", "payments"]
CATALOGUE = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"


def templates():
    folder = ROOT / "templates"
    return sorted([*folder.rglob("*.html"), *folder.rglob("*.txt")])


def python_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def report(found: list[str]) -> str:
    return "Espace insécable manquante :\n" + "\n".join(found)


# What counts as a fault


@pytest.mark.parametrize(
    "text",
    [
        "Comment souhaitez-vous payer ?",
        "Comment souhaitez-vous payer?",
        "Titulaire du compte : Marché",
        "Attention ; vraiment",
        "Merci !",
        "le bouton « Valider »",
        "le bouton «Valider»",
    ],
)
def test_an_ordinary_space_or_no_space_before_french_punctuation_is_a_fault(text):
    assert faults(text)


@pytest.mark.parametrize(
    "text",
    [
        f"Comment souhaitez-vous payer{NBSP}?",
        "Comment souhaitez-vous payer\u202f?",
        f"Titulaire du compte{NBSP}: Marché",
        "Titulaire du compte&nbsp;: Marché",
        f"le bouton «{NBSP}Valider{NBSP}»",
        "Ouvert de 12:30 à 18:00",
        "https://paiements.example.org/m/montreuil/?page=2",
        "Tom &amp; Jerry",
        "%(a)s:%(b)s",
    ],
)
def test_no_break_spaces_urls_times_and_entities_are_not_faults(text):
    assert faults(text) == []


def test_a_fix_writes_no_break_spaces_where_they_are_missing():
    text = "Payer ? Oui : «par chèque»"

    assert fixed(text, faults(text)) == f"Payer{NBSP}? Oui{NBSP}: «{NBSP}par chèque{NBSP}»"


def test_a_template_is_read_outside_tags_and_in_translate_tags_and_french_attributes():
    source = (
        '<p title="Aide : oui" class="a:b">{% translate "Payer ?" %} Total :</p>'
        "<script>if (a ? b : c) {}</script>{% comment %}Note: dev{% endcomment %}"
    )

    view = template_view(source)

    assert fixed(source, faults(view)) == source.replace("Aide :", f"Aide{NBSP}:").replace(
        "Payer ?", f"Payer{NBSP}?"
    ).replace("Total :", f"Total{NBSP}:")


def test_a_blocktranslate_body_in_any_attribute_is_read():
    source = (
        '<button data-x="{% blocktranslate with a=amount %}Annuler {{ a }} ?'
        '{% endblocktranslate %}">'
    )

    assert fixed(source, faults(template_view(source))) == source.replace(" ?", f"{NBSP}?")


def test_a_blocktranslate_body_and_its_msgid_get_the_same_fix():
    template = "{% blocktranslate with m=name %}Ordre :{{ m }}, « {{ m }}»{% endblocktranslate %}"
    msgid = "Ordre :%(m)s, « %(m)s»"

    view = template_view(template)
    fixed_template = fixed(template, faults(view))
    body = fixed_template.split("%}", 1)[1].split("{%", 1)[0]

    assert body.replace("{{ m }}", "%(m)s") == fixed(msgid, faults(msgid))


def test_a_catalogue_msgid_split_over_lines_is_fixed_and_its_msgstr_kept():
    lines = ['msgid ""\n', '"Comment payer "\n', '"? Par « chèque »"\n', 'msgstr "How ?"\n']

    assert po_fixed(lines) == [
        'msgid ""\n',
        f'"Comment payer{NBSP}"\n',
        f'"? Par «{NBSP}chèque{NBSP}»"\n',
        'msgstr "How ?"\n',
    ]


# Numbers


def test_an_amount_keeps_its_thousands_and_its_euro_sign_on_one_line():
    assert euros(Decimal("1234567.5")) == f"1{NBSP}234{NBSP}567,50{NBSP}€"


def test_a_quantity_keeps_its_unit_on_the_same_line():
    line = SimpleNamespace(quantity=Decimal("2"), product=SimpleNamespace(unit=Unit.PIECE))

    assert quantity_unit(line) == f"2{NBSP}pièces"


# The tree


def test_every_template_s_french_text_has_its_no_break_spaces():
    found = []
    for path in templates():
        source = path.read_text()
        view = template_view(source)
        found += [
            f"{path.relative_to(ROOT)}:{line_of(source, f.index)}: {excerpt(view, f.index)}"
            for f in faults(view)
        ]
    assert not found, report(found)


def test_every_french_string_of_a_python_gettext_call_has_its_no_break_spaces():
    found = []
    for path in python_sources():
        for string in python_strings(path.read_text()):
            found += [
                f"{path.relative_to(ROOT)}: {excerpt(string.text, f.index)}"
                for f in faults(string.text)
            ]
    assert not found, report(found)


def test_every_msgid_of_the_catalogue_has_its_no_break_spaces():
    lines = CATALOGUE.read_text().splitlines(keepends=True)
    found = [
        f"django.po:{message.line + 1}: {excerpt(message.text, f.index)}"
        for message in po_messages(lines)
        for f in faults(message.text)
    ]
    assert not found, report(found)
