"""French banks' CSV exports: finding the table, its columns, and reading its lines.

The file is UTF-8 (with or without BOM) or cp1252; lines of account details
may stand above the table, whose header row is found by the layout's column
names; empty lines and a closing « Solde ... » or « Total ... » line are
skipped. Amounts are French (``-1 234,56``), in one signed column or in
separate Débit / Crédit columns (a debit counts as money out whatever its sign).
A CSV gives no account and no balances.
"""

import csv
import io
import unicodedata
from decimal import Decimal

from django.utils.translation import gettext as _

from .amounts import amount_read, date_read
from .csv_layouts import CSV_PRESETS, CsvLayout
from .parsed import CsvLayoutNeeded, ParsedLine, ParsedStatement, StatementError, collapse

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (";", "\t", ",")
_SEARCHED_ROWS = 50  # the header row stands among the first lines
_FOOTERS = ("solde", "total")


def _key(name: str) -> str:
    """A column name compared without case, accents or extra spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    if data.startswith(_BOM):
        encoding = "utf-8-sig"
    for candidate in (encoding,) if encoding else ("utf-8", "cp1252"):
        try:
            return data.decode(candidate), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    raise StatementError(_("Le fichier CSV n'est pas lisible dans l'encodage indiqué."))


def _delimiter(text: str) -> str:
    lines = text.splitlines()[:_SEARCHED_ROWS]
    for delimiter in _DELIMITERS:
        if any(line.count(delimiter) >= 2 for line in lines):
            return delimiter
    return ";"


def _rows(text: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        raise StatementError(_("Le fichier CSV est illisible.")) from None


def _header_at(rows: list[list[str]], layout: CsvLayout) -> int | None:
    wanted = {_key(column) for column in layout.columns()}
    for index, row in enumerate(rows[:_SEARCHED_ROWS]):
        if wanted <= {_key(cell) for cell in row}:
            return index
    return None


def _guessed_header(rows: list[list[str]]) -> tuple[str, ...]:
    """The first of the widest rows: lines of details above a table are narrower."""
    searched = rows[:_SEARCHED_ROWS]
    widths = [sum(1 for cell in row if cell.strip()) for row in searched]
    if not widths or max(widths) == 0:
        return ()
    return tuple(cell.strip() for cell in searched[widths.index(max(widths))])


def _layout_needed(rows, encoding: str, delimiter: str) -> CsvLayoutNeeded:
    return CsvLayoutNeeded(
        _(
            "Les colonnes de ce fichier CSV ne correspondent à aucune banque connue : "
            "indiquez quelles colonnes donnent la date, le libellé et le montant."
        ),
        header=_guessed_header(rows),
        encoding=encoding,
        delimiter=delimiter,
    )


def _amount(cells: dict[str, str], layout: CsvLayout, number: int) -> Decimal:
    if layout.amount_column:
        text = cells.get(_key(layout.amount_column), "")
        if text.strip():
            return amount_read(text)
    else:
        debit = cells.get(_key(layout.debit_column), "").strip()
        credit = cells.get(_key(layout.credit_column), "").strip()
        if debit or credit:
            money_in = abs(amount_read(credit)) if credit else Decimal("0.00")
            return money_in - (abs(amount_read(debit)) if debit else Decimal("0.00"))
    raise StatementError(
        _("La ligne %(number)s du fichier CSV n'a pas de montant.") % {"number": number}
    )


def _is_footer(row: list[str]) -> bool:
    first = next((cell for cell in row if cell.strip()), "")
    return _key(first).startswith(_FOOTERS)


def _line(cells: dict[str, str], layout: CsvLayout, number: int) -> ParsedLine:
    value_text = cells.get(_key(layout.value_date_column), "") if layout.value_date_column else ""
    return ParsedLine(
        booked_on=date_read(cells[_key(layout.date_column)], layout.date_format),
        value_on=date_read(value_text, layout.date_format) if value_text.strip() else None,
        amount=_amount(cells, layout, number),
        label=collapse(*(cells.get(_key(column), "") for column in layout.label_columns)),
        bank_id="",
        payer="",
        reference="",
    )


def _lines(rows: list[list[str]], header_at: int, layout: CsvLayout) -> tuple[ParsedLine, ...]:
    header = [_key(cell) for cell in rows[header_at]]
    lines = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = dict(zip(header, row, strict=False))
        if not any(cell.strip() for cell in row) or _is_footer(row):
            continue
        if not cells.get(_key(layout.date_column), "").strip():
            continue  # a line carrying no operation (a subtotal, a note)
        lines.append(_line(cells, layout, number))
    return tuple(lines)


def _layout_found(rows, layout: CsvLayout | None) -> tuple[CsvLayout, int] | None:
    for candidate in (layout,) if layout else CSV_PRESETS.values():
        if (header_at := _header_at(rows, candidate)) is not None:
            return candidate, header_at
    return None


def csv_parse(data: bytes, *, layout: CsvLayout | None = None) -> ParsedStatement:
    text, encoding = _decode(data, layout.encoding if layout else None)
    delimiter = layout.delimiter if layout else _delimiter(text)
    rows = _rows(text, delimiter)
    found = _layout_found(rows, layout)
    if found is None:
        raise _layout_needed(rows, encoding, delimiter)
    return ParsedStatement(
        format="csv",
        account="",
        currency="EUR",
        opening=None,
        closing=None,
        opening_on=None,
        closing_on=None,
        lines=_lines(rows, found[1], found[0]),
    )
