"""Small builders of bank statement files, from each format's documented structure."""

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"


def camt_balance(code: str, amount: str, indicator: str, day: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt_party(version: str, role: str, name: str) -> str:
    """``Dbtr/Nm`` up to .07; ``Dbtr/Pty/Nm`` from .08 on."""
    if int(version) >= 8:
        return f"<{role}><Pty><Nm>{name}</Nm></Pty></{role}>"
    return f"<{role}><Nm>{name}</Nm></{role}>"


def camt_statement(iban: str, balances: str, entries: str, number: str = "1") -> str:
    return (
        f"<Stmt><Id>STMT-{number}</Id><CreDtTm>2026-03-01T08:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{balances}{entries}</Stmt>"
    )


def camt_document(version: str, *statements: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{CAMT_NS.format(version=version)}">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>MSG1</MsgId>"
        f"<CreDtTm>2026-03-01T08:00:00</CreDtTm></GrpHdr>"
        f"{''.join(statements)}</BkToCstmrStmt></Document>"
    ).encode()


def cfonb_amount(cents: int) -> str:
    """13 digits and an overpunch last character carrying the sign."""
    digits = f"{abs(cents):014d}"
    letters = "{ABCDEFGHI" if cents >= 0 else "}JKLMNOPQR"
    return digits[:13] + letters[int(digits[13])]


def _record(code: str, middle: str, tail: str) -> str:
    """Positions 1-34 (code, bank, internal code, branch, currency, decimals, account)."""
    head = f"{code}30004{'0568':4}00012EUR2 00012345678{middle[:2]:2}"
    record = head + tail
    assert len(record) == 120, len(record)
    return record


def cfonb_balance(code: str, day: str, cents: int) -> str:
    """01 ancien solde / 07 nouveau solde: date at 35-40, amount at 91-104."""
    return _record(code, "  ", f"{day}{' ' * 50}{cfonb_amount(cents)}{' ' * 16}")


def cfonb_movement(booked: str, value: str, label: str, entry: str, cents: int, ref: str) -> str:
    """04 mouvement: dates at 35-40 and 43-48, label 49-80, entry 82-88, amount 91-104."""
    tail = f"{booked}  {value}{label:32} {entry:7}  {cfonb_amount(cents)}{ref:16}"
    return _record("04", "05", tail)


def cfonb_complement(qualifier: str, text: str) -> str:
    """05 complément: qualifier at 46-48, text at 49-118."""
    tail = f"{' ' * 11}{qualifier}{text:70}  "
    return _record("05", "05", tail)
