"""The market's bank statements, for the bank reconciliation (« rapprochement bancaire »).

The treasurer uploads the file the bank gives; `statement_parse` tells its
format from the content and returns a `ParsedStatement`, or refuses it with a
`StatementError` whose text is a French sentence for the form.

Reading the files (plain data, no database):

- `parsed`: the data returned (`ParsedStatement`, `ParsedLine`) and the errors;
- `amounts`: amounts and dates as written in the files, exact to the cent;
- `camt`, `ofx`, `cfonb`: CAMT.053 (ISO 20022), OFX 1.x and 2.x, CFONB 120;
- `csv_layouts`, `csv_reader`: French banks' CSV exports and their presets;
- `detect`: `statement_parse`, the entry point;
- `matching`: the rules that tell which expected payment a credit pays.

These import `cagette` (money helpers), the standard library, `defusedxml` and
`ofxtools`, nothing else. Built on them, with the market's rows:

- `store`: a statement stored, each bank line once;
- `proposals`: the recent credits, each with the payment it seems to pay;
- `forms`: the upload form.
"""

from .csv_layouts import CSV_PRESETS, CsvLayout
from .detect import statement_parse
from .parsed import (
    MAX_STATEMENT_BYTES,
    CsvLayoutNeeded,
    ParsedLine,
    ParsedStatement,
    StatementError,
)

__all__ = [
    "CSV_PRESETS",
    "MAX_STATEMENT_BYTES",
    "CsvLayout",
    "CsvLayoutNeeded",
    "ParsedLine",
    "ParsedStatement",
    "StatementError",
    "statement_parse",
]
