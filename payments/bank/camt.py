"""CAMT.053 (ISO 20022 « Bank to Customer Statement »), versions .001.02 to .001.08.

The namespace is read from the root element, so every version is read by the
same paths. The XML goes through `defusedxml` with DTDs forbidden: no entity
expansion (no « billion laughs »), no external entity, no network.
Entries still pending (``Sts`` PDNG or INFO) are not booked and are left out.
"""

import datetime
import re
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _

from .amounts import amount_read, amount_refused
from .parsed import ParsedLine, ParsedStatement, StatementError, collapse

_NAMESPACE_RE = re.compile(r"\{(urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2})\}Document")
_NOT_BOOKED = {"PDNG", "INFO"}


def looks_like_camt(head: bytes) -> bool:
    return b"camt.053" in head and b"<" in head


class _Tree:
    """Paths such as ``Acct/Id/IBAN`` read in the document's own namespace."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.namespace}}}{step}" for step in path.split("/"))

    def all(self, element: Element, path: str) -> list[Element]:
        return element.findall(self._path(path))

    def text(self, element: Element | None, *paths: str) -> str:
        """The text of the first of ``paths`` found under ``element``, stripped; else ""."""
        for path in paths if element is not None else ():
            found = element.find(self._path(path))
            if found is not None and (found.text or "").strip():
                return found.text.strip()
        return ""

    def date(self, element: Element | None, path: str) -> datetime.date | None:
        """``path/Dt`` or the date of ``path/DtTm`` (as written, before any time zone)."""
        text = self.text(element, f"{path}/Dt", f"{path}/DtTm")
        if not text:
            return None
        try:
            return datetime.date.fromisoformat(text[:10])
        except ValueError:
            raise StatementError(
                _("La date « %(text)s » du relevé n'est pas une date valide.") % {"text": text[:40]}
            ) from None

    def signed(self, element: Element) -> Decimal:
        """``Amt`` signed by ``CdtDbtInd``: a credit positive, a debit negative."""
        text = self.text(element, "Amt")
        amount = amount_read(text)
        if amount < 0:
            raise amount_refused(text)
        indicator = self.text(element, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise StatementError(_("Une écriture du relevé CAMT n'indique ni crédit ni débit."))
        return -amount if indicator == "DBIT" else amount


def _document(data: bytes) -> tuple[_Tree, Element]:
    try:
        root = fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise StatementError(
            _("Le fichier XML déclare des entités ou une DTD, refusées par sécurité.")
        ) from None
    except (ParseError, ValueError):
        raise StatementError(_("Le fichier XML est illisible ou tronqué.")) from None
    match = _NAMESPACE_RE.fullmatch(root.tag)
    if not match:
        raise StatementError(_("Ce fichier XML n'est pas un relevé CAMT.053."))
    return _Tree(match.group(1)), root


def _party(tree: _Tree, details: Element, role: str) -> str:
    return tree.text(details, f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")


def _line(tree: _Tree, entry: Element) -> ParsedLine:
    amount = tree.signed(entry)
    details = tree.all(entry, "NtryDtls/TxDtls")
    role = "Dbtr" if amount > 0 else "Cdtr"
    payers = [name for d in details if (name := _party(tree, d, role))]
    texts = [u.text or "" for d in details for u in tree.all(d, "RmtInf/Ustrd")]
    ends = [tree.text(d, "Refs/EndToEndId") for d in details]
    ends = [end for end in ends if end and end.upper() != "NOTPROVIDED"]
    label = tree.text(entry, "AddtlNtryInf") or collapse(
        *(tree.text(d, "AddtlTxInf") for d in details)
    )
    booked_on = tree.date(entry, "BookgDt") or tree.date(entry, "ValDt")
    if booked_on is None:
        raise StatementError(_("Une écriture du relevé CAMT n'a pas de date."))
    return ParsedLine(
        booked_on=booked_on,
        value_on=tree.date(entry, "ValDt"),
        amount=amount,
        label=collapse(label),
        bank_id=tree.text(entry, "AcctSvcrRef", "NtryRef"),
        payer=collapse(payers[0]) if payers else "",
        reference=collapse(*texts, *ends),
    )


def _balance(tree: _Tree, statement: Element, *codes: str):
    """``(amount, date)`` of the first balance of ``codes`` found, in that order of preference."""
    balances = tree.all(statement, "Bal")
    for code in codes:
        for balance in balances:
            if tree.text(balance, "Tp/CdOrPrtry/Cd") == code:
                return tree.signed(balance), tree.date(balance, "Dt")
    return None, None


def _account(tree: _Tree, statement: Element) -> str:
    iban = tree.text(statement, "Acct/Id/IBAN")
    return "".join(iban.split()).upper() if iban else tree.text(statement, "Acct/Id/Othr/Id")


def _is_booked(tree: _Tree, entry: Element) -> bool:
    return tree.text(entry, "Sts/Cd", "Sts") not in _NOT_BOOKED


def camt_parse(data: bytes) -> ParsedStatement:
    """Several ``Stmt`` of one account make one statement; of several accounts, a refusal."""
    tree, root = _document(data)
    statements = tree.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementError(_("Le relevé CAMT.053 ne contient aucun relevé de compte."))
    accounts = {_account(tree, statement) for statement in statements}
    if len(accounts) > 1:
        raise StatementError(
            _("Le fichier contient les relevés de plusieurs comptes : importez-les un par un.")
        )
    opening, opening_on = _balance(tree, statements[0], "OPBD", "PRCD")
    closing, closing_on = _balance(tree, statements[-1], "CLBD")
    lines = tuple(
        _line(tree, entry)
        for statement in statements
        for entry in tree.all(statement, "Ntry")
        if _is_booked(tree, entry)
    )
    return ParsedStatement(
        format="camt053",
        account=accounts.pop(),
        currency=tree.text(statements[0], "Acct/Ccy") or _currency(tree, statements[0]),
        opening=opening,
        closing=closing,
        opening_on=opening_on,
        closing_on=closing_on,
        lines=lines,
    )


def _currency(tree: _Tree, statement: Element) -> str:
    """The currency of the first amount, when the account does not state one."""
    for amount in statement.iter(f"{{{tree.namespace}}}Amt"):
        if amount.get("Ccy"):
            return amount.get("Ccy")
    return ""
