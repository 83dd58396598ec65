"""`statement_parse`: the one entry point, which tells the format from the content.

The file's name is never looked at: what the bytes begin with says whether it
is CAMT.053 XML, OFX, CFONB 120 or, failing those, a CSV export.
"""

from django.utils.translation import gettext as _

from .camt import camt_parse, looks_like_camt
from .cfonb import cfonb_parse, looks_like_cfonb
from .csv_layouts import CsvLayout
from .csv_reader import csv_parse
from .ofx import looks_like_ofx, ofx_parse
from .parsed import MAX_STATEMENT_BYTES, ParsedStatement, StatementError

_HEAD_BYTES = 4096
_BOM = b"\xef\xbb\xbf"


def _is_text(data: bytes) -> bool:
    """No NUL byte and not a known binary format: a PDF or a spreadsheet is not a statement."""
    return b"\x00" not in data[:_HEAD_BYTES] and not data.startswith((b"%PDF", b"PK\x03\x04"))


def statement_parse(data: bytes, *, layout: CsvLayout | None = None) -> ParsedStatement:
    """Detect the format from the content and parse; a refusal is a `StatementError`.

    CSV: with ``layout`` if given, else the first preset whose columns are all in
    the header row, else `CsvLayoutNeeded` carrying the header for a mapping form.
    """
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError(_("Le fichier dépasse 10 Mo : ce n'est pas un relevé de compte."))
    head = data[:_HEAD_BYTES].removeprefix(_BOM).lstrip()
    if not head or not _is_text(data):
        raise StatementError(
            _("Ce fichier n'est pas un relevé de compte (CAMT.053, OFX, CFONB 120 ou CSV).")
        )
    if looks_like_ofx(head):
        return ofx_parse(data)
    if head.startswith(b"<"):
        if not looks_like_camt(head):
            raise StatementError(_("Ce fichier XML n'est pas un relevé CAMT.053."))
        return camt_parse(data)
    if looks_like_cfonb(head):
        return cfonb_parse(data.removeprefix(_BOM))
    return csv_parse(data, layout=layout)
