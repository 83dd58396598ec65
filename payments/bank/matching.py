"""Which expected transfer a bank credit pays: the rules, on plain data.

A client writes the payment's reference (``2026-12-08-0012``, a complement
``2026-12-08-0012-2``) as they can: `references_in` finds it in upper or
lower case, with spaces, dots or nothing between its parts, inside a long
bank label, several in one transfer. `match` then puts each credit line in
one group, in this order of rules:

1. **sûr**: one reference, of a payment still expected, for its amount;
2. **à vérifier**, with the proposed payments and why:
   - a reference found but another amount (paid in part, or more);
   - two references or more in one transfer (several baskets);
   - no reference known, but one differing by one character from a payment
     of the same amount whose client's name is the payer's (a typo);
   - the reference of a payment received, whose complement (``-2``) waits;
   - no reference known, but one payment of exactly that amount from a
     client of the payer's name;
3. **déjà reçu**: the reference of a payment already received;
4. **inconnu**: nothing of the above.

Nothing here reads or writes the database: `payments.bank.proposals` feeds it.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

SURE, CHECK, RECEIVED, UNKNOWN = "sure", "check", "received", "unknown"

# The day, the order's number, and a complement's rank, apart or run together.
_SEP = r"[\s._/-]?"
_REFERENCE = re.compile(
    rf"(?<!\d)(20\d\d){_SEP}(\d\d){_SEP}(\d\d){_SEP}(\d{{4}})(?:[._/-](\d{{1,2}}))?(?!\d)"
)
# The same with a digit missing or one too many in the number: a typo to look at.
_LOOSE = re.compile(
    rf"(?<!\d)(20\d\d){_SEP}(\d\d){_SEP}(\d\d){_SEP}(\d{{3,5}})(?:[._/-](\d{{1,2}}))?(?!\d)"
)
_TITLES = {"M", "MR", "MME", "MLLE", "MM", "MONSIEUR", "MADAME", "OU", "ET", "EPOUX", "DE"}


@dataclass(frozen=True)
class Expected:
    """A payment the market waits for (or has received, ``received``)."""

    payment_id: int
    reference: str
    amount: Decimal
    first_name: str
    last_name: str
    received: bool = False


@dataclass(frozen=True)
class Credit:
    """A bank line of money in."""

    line_id: int
    amount: Decimal
    text: str  # the label and the reference the bank gives, together
    payer: str


@dataclass
class Proposal:
    credit: Credit
    group: str
    payments: list[Expected] = field(default_factory=list)
    reason: str = ""  # for « à vérifier »: partial, over, several, complement, typo, name


def references_in(text: str, *, loose: bool = False) -> list[str]:
    """The payment references written in ``text``, each once, in their order
    (``loose``: with the order's number one digit short or long)."""
    found = []
    for year, month, day, number, rank in (_LOOSE if loose else _REFERENCE).findall(text):
        reference = f"{year}-{month}-{day}-{number}" + (f"-{int(rank)}" if rank else "")
        if reference not in found:
            found.append(reference)
    return found


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    return {w for w in re.split(r"[^A-Z]+", plain) if w and w not in _TITLES}


def names_agree(expected: Expected, payer: str) -> bool:
    """The payer's name is the client's: the last name's words all in it, and
    the first name, or its initial, or nothing else (« MME DUPONT »)."""
    words, last = _words(payer), _words(expected.last_name)
    if not last or not last <= words:
        return False
    first, rest = _words(expected.first_name), words - last
    initials = {f[0] for f in first}
    return not first or not rest or bool(first & words) or any(w[0] in initials for w in rest)


def _one_typo(a: str, b: str) -> bool:
    """Whether two references differ by one typo: a character changed, missing
    or extra, or two neighbours swapped."""
    a, b = a.replace("-", ""), b.replace("-", "")
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        apart = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        swapped = len(apart) == 2 and apart[1] == apart[0] + 1 and a[apart[0]] == b[apart[1]]
        return len(apart) == 1 or (swapped and a[apart[1]] == b[apart[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class _Index:
    def __init__(self, expected: Iterable[Expected]):
        self.by_reference = {e.reference: e for e in expected}
        self.waiting = [e for e in self.by_reference.values() if not e.received]
        self.by_amount: dict[Decimal, list[Expected]] = defaultdict(list)
        for e in self.waiting:
            self.by_amount[e.amount].append(e)


def _by_reference(credit: Credit, index: _Index) -> Proposal | None:
    known = [index.by_reference[r] for r in references_in(credit.text) if r in index.by_reference]
    waiting = [e for e in known if not e.received]
    if not waiting and known:
        # The first payment's reference, the first one received: its complement, if one waits.
        bases = {e.reference for e in known}
        rest = [e for e in index.waiting if e.reference.rsplit("-", 1)[0] in bases]
        if rest:
            return Proposal(credit, CHECK, rest, "complement")
        return Proposal(credit, RECEIVED, known)
    if not waiting:
        return None
    if len(waiting) > 1:
        return Proposal(credit, CHECK, waiting, "several")
    (payment,) = waiting
    if payment.amount == credit.amount:
        return Proposal(credit, SURE, waiting)
    return Proposal(credit, CHECK, waiting, "partial" if credit.amount < payment.amount else "over")


def _by_likeness(credit: Credit, index: _Index) -> Proposal | None:
    candidates = index.by_amount.get(credit.amount, [])
    same_amount = [e for e in candidates if names_agree(e, credit.payer)]
    written = references_in(credit.text, loose=True)
    typos = [e for e in same_amount if any(_one_typo(r, e.reference) for r in written)]
    if len(typos) == 1:
        return Proposal(credit, CHECK, typos, "typo")
    if len(same_amount) == 1:
        return Proposal(credit, CHECK, same_amount, "name")
    return None


def match(credits: Sequence[Credit], expected: Iterable[Expected]) -> list[Proposal]:
    """Each credit's proposal, in the credits' order (see the module)."""
    index = _Index(expected)
    return [
        _by_reference(credit, index) or _by_likeness(credit, index) or Proposal(credit, UNKNOWN)
        for credit in credits
    ]
