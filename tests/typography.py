"""French typography of the interface's source strings.

French puts a no-break space before « ? ! ; : » and inside guillemets
(« Comment souhaitez-vous payer ? » must not leave its « ? » alone at the
start of a line). We write U+00A0 (a narrow U+202F is accepted too).

Each source is read as a *view*: a string of the same length as the source,
where every character that is not French text is replaced by a marker.
``BOUNDARY`` stands where a translatable string starts or ends (or for code,
scripts, comments), ``INLINE`` for an HTML tag inside a sentence (read like
its ``<``) and ``PLACEHOLDER`` for a template variable or tag (read like the
``%(amount)s`` of its msgid). So a template's ``{% blocktranslate %}`` body
and its msgid in the catalogue give the same faults and get the same fixes.

What is not French punctuation is left alone: a colon counts only when a
space or the end follows (not ``12:30``, ``https://``), a question mark or an
exclamation mark only before a space, the end or a closing character (not
``?page=2``), a semicolon that ends an HTML entity never.

`faults` finds what is missing, `fixed` writes it in; the readers below turn
templates, Python gettext calls and PO msgids into views. The tests use them
to check the tree; a one-off sweep can use them to fix it.
"""

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

NBSP = "\u00a0"
NO_BREAK = (NBSP, "\u202f")
BOUNDARY = "\x00"
INLINE = "\x01"
PLACEHOLDER = "\x02"
MARKERS = BOUNDARY + INLINE + PLACEHOLDER
PUNCTUATION = "?!;:"
SPACES = " \t\r\n" + NBSP + "\u202f"
AFTER_PUNCTUATION = SPACES + MARKERS + ")»\"'.,<%"
NO_BREAK_ENTITY = re.compile(r"&(?:nbsp|#160|#x0*a0|#8239|#x0*202f);", re.IGNORECASE)
NO_BREAK_ENTITY_BEFORE = re.compile(r"&(?:nbsp|#160|#x0*a0|#8239|#x0*202f);$", re.IGNORECASE)
ENTITY_END = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);$", re.IGNORECASE)


@dataclass(frozen=True)
class Fault:
    """A no-break space is missing: ``replace`` the space at ``index``, or ``insert`` one there."""

    index: int
    action: str


def faults(view: str) -> list[Fault]:
    found = []
    for index, char in enumerate(view):
        if char in PUNCTUATION:
            found += _before_punctuation(view, index)
        elif char == "«":
            found += _after_opening(view, index)
        elif char == "»":
            found += _before_closing(view, index)
    return found


def _before_punctuation(view: str, index: int) -> list[Fault]:
    following = view[index + 1] if index + 1 < len(view) else BOUNDARY
    if view[index] == ":" and not _ends_a_colon(view, index, following):
        return []  # 12:30, https://, a format spec
    if following not in AFTER_PUNCTUATION:
        return []  # ?page=2
    if view[index] == ";" and ENTITY_END.search(view, 0, index + 1):
        return []
    return _space_before(view, index)


def _ends_a_colon(view: str, index: int, following: str) -> bool:
    if following in SPACES + BOUNDARY:
        return True
    # « Total :</dt> »: a tag may follow a colon that has its space before.
    return following in INLINE + "<" and index > 0 and view[index - 1] == " "


def _space_before(view: str, index: int) -> list[Fault]:
    previous = view[index - 1] if index else BOUNDARY
    if previous in NO_BREAK or NO_BREAK_ENTITY_BEFORE.search(view, 0, index):
        return []
    if previous == " ":
        return [Fault(index - 1, "replace")]
    if previous in BOUNDARY + "\t\r\n" + PUNCTUATION + "(":
        return []
    return [Fault(index, "insert")]


def _after_opening(view: str, index: int) -> list[Fault]:
    following = view[index + 1] if index + 1 < len(view) else BOUNDARY
    if following in NO_BREAK or NO_BREAK_ENTITY.match(view, index + 1):
        return []
    if following == " ":
        return [Fault(index + 1, "replace")]
    if following in BOUNDARY + "\t\r\n":
        return []
    return [Fault(index + 1, "insert")]


def _before_closing(view: str, index: int) -> list[Fault]:
    previous = view[index - 1] if index else BOUNDARY
    if previous in NO_BREAK or NO_BREAK_ENTITY_BEFORE.search(view, 0, index):
        return []
    if previous == " ":
        return [Fault(index - 1, "replace")]
    if previous in BOUNDARY + "\t\r\n":
        return []
    return [Fault(index, "insert")]


def fixed(text: str, found: list[Fault]) -> str:
    """``text`` (the source the view was read from) with the no-break spaces written in."""
    chars = list(text)
    for fault in sorted(set(found), key=lambda f: f.index, reverse=True):
        if fault.action == "replace":
            chars[fault.index] = NBSP
        else:
            chars.insert(fault.index, NBSP)
    return "".join(chars)


def excerpt(view: str, index: int) -> str:
    """A few words around a fault, markers shown as « … »."""
    around = view[max(index - 30, 0) : index + 30]
    return re.sub(f"[{MARKERS}]+", "…", around).replace("\n", " ").strip()


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


# -- Templates ------------------------------------------------------------------------

_NOT_TEXT = re.compile(
    r"{%\s*comment\b.*?{%\s*endcomment\s*%}|{#.*?#}|<script\b.*?</script\s*>"
    r"|<style\b.*?</style\s*>|<!--.*?-->",
    re.DOTALL | re.IGNORECASE,
)
_DJANGO_TAG = re.compile(r"{%.*?%}|{{.*?}}", re.DOTALL)
_TRANSLATE = re.compile(r"""{%-?\s*(?:translate|trans)\s+(["'])(.*?)\1""", re.DOTALL)
_BLOCK_EDGE = re.compile(r"{%\s*(?:(?:end)?blocktrans(?:late)?|plural)\b")
_HTML_TAG = re.compile(r"<[a-zA-Z/!][^<>]*>")
_FRENCH_ATTRIBUTE = re.compile(
    r"""\s(?:title|aria-label|placeholder|alt|data-confirm)\s*=\s*(["'])(.*?)\1""",
    re.DOTALL | re.IGNORECASE,
)
# A blocktranslate body is French wherever it stands (in any attribute too): the
# catalogue's msgid is fixed, so the template must be fixed the same way.
_BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?\b.*?%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.DOTALL
)


def template_view(source: str) -> str:
    """The French text of a template: outside tags, in translate tags, in blocktranslate
    bodies and in the attributes a person reads (title, aria-label, placeholder, alt,
    data-confirm)."""
    kind = list(source)
    blanked = _DJANGO_TAG.sub(lambda m: INLINE * len(m.group()), source)
    for tag in _HTML_TAG.finditer(blanked):
        _mark(kind, tag.start(), tag.end(), INLINE)
        for attribute in _FRENCH_ATTRIBUTE.finditer(tag.group()):
            start, end = tag.start() + attribute.start(2), tag.start() + attribute.end(2)
            kind[start:end] = source[start:end]
            kind[start - 1], kind[end] = BOUNDARY, BOUNDARY
    for block in _BLOCK.finditer(source):
        kind[block.start(1) : block.end(1)] = source[block.start(1) : block.end(1)]
    for tag in _DJANGO_TAG.finditer(source):
        translate = _TRANSLATE.match(tag.group())
        edge = translate or _BLOCK_EDGE.match(tag.group())
        _mark(kind, tag.start(), tag.end(), BOUNDARY if edge else PLACEHOLDER)
        if translate:
            start, end = tag.start() + translate.start(2), tag.start() + translate.end(2)
            kind[start:end] = source[start:end]
    for skipped in _NOT_TEXT.finditer(source):
        _mark(kind, skipped.start(), skipped.end(), BOUNDARY)
    return "".join(kind)


def _mark(kind: list, start: int, end: int, marker: str) -> None:
    kind[start:end] = marker * (end - start)


# -- Python gettext calls -----------------------------------------------------------

GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "gettext_noop"}
WITH_CONTEXT = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}


@dataclass
class PythonString:
    """One translatable literal (possibly several concatenated ones) and its text.

    ``positions`` gives the source offset of each character of ``text``, and
    the end, when the text maps one to one onto the source (no escapes, no
    f-string), so that a fix can be written in; else it is None.
    """

    text: str
    positions: list[int] | None

    def source_faults(self) -> list[Fault]:
        """The faults of ``text`` as offsets in the source (``positions`` must be known)."""
        return [Fault(self.positions[f.index], f.action) for f in faults(self.text)]


def python_strings(source: str) -> list[PythonString]:
    tree = ast.parse(source)
    offsets = _line_offsets(source)
    tokens = _string_tokens(source, offsets)
    strings = []
    for node in ast.walk(tree):
        for literal in _messages(node):
            start = _offset(source, offsets, literal.lineno, literal.col_offset)
            end = _offset(source, offsets, literal.end_lineno, literal.end_col_offset)
            inside = [t for t in tokens if start <= t[0] and t[1] <= end]
            strings.append(_python_string(source, literal.value, inside))
    return strings


def _messages(node) -> list[ast.Constant]:
    if not isinstance(node, ast.Call):
        return []
    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
    if name in GETTEXT:
        args = node.args[:2] if name.startswith("n") else node.args[:1]
    elif name in WITH_CONTEXT:
        args = node.args[1:3] if name.startswith("n") else node.args[1:2]
    else:
        return []
    return [a for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _python_string(source: str, value: str, tokens) -> PythonString:
    positions = []
    for token_start, token_end, text in tokens:
        prefix = re.match(r"[a-zA-Z]*", text).group()
        quote = 3 if text[len(prefix) :].startswith(('"""', "'''")) else 1
        body_start, body_end = token_start + len(prefix) + quote, token_end - quote
        if "\\" in source[body_start:body_end] or "f" in prefix.lower():
            return PythonString(value, None)
        positions += range(body_start, body_end)
        last_end = body_end
    if len(positions) != len(value):
        return PythonString(value, None)
    return PythonString(value, [*positions, last_end])


def _string_tokens(source: str, offsets: list[int]) -> list[tuple[int, int, str]]:
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            start = offsets[token.start[0] - 1] + token.start[1]
            end = offsets[token.end[0] - 1] + token.end[1]
            found.append((start, end, token.string))
    return found


def _line_offsets(source: str) -> list[int]:
    offsets, total = [], 0
    for line in source.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    offsets.append(total)
    return offsets


def _offset(source: str, offsets: list[int], lineno: int, byte_col: int) -> int:
    """ast counts columns in UTF-8 bytes; the views count characters."""
    line = source[offsets[lineno - 1] : offsets[lineno]]
    return offsets[lineno - 1] + len(line.encode()[:byte_col].decode())


# -- PO catalogues -------------------------------------------------------------------

_PO_STRING = re.compile(r'^(msgid|msgid_plural)?\s*"(.*)"\s*$')
_PO_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t"}


@dataclass
class PoMessage:
    """A msgid (or msgid_plural): its lines in the file and its unescaped text."""

    line: int  # index of its first line
    parts: list[str]  # one unescaped part per line

    @property
    def text(self) -> str:
        return "".join(self.parts)


def po_messages(lines: list[str]) -> list[PoMessage]:
    messages, current = [], None
    for number, line in enumerate(lines):
        match = _PO_STRING.match(line)
        if match and match.group(1):
            current = PoMessage(number, [_po_unescape(match.group(2))])
            messages.append(current)
        elif match and current is not None and not line.startswith("#"):
            current.parts.append(_po_unescape(match.group(2)))
        else:
            current = None
    return [m for m in messages if m.text]


def _po_unescape(text: str) -> str:
    return re.sub(r'\\["\\nt]', lambda m: _PO_ESCAPES[m.group()], text)


def _po_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def po_fixed(lines: list[str]) -> list[str]:
    """The catalogue with its msgids fixed part by part (the msgstrs untouched)."""
    lines = list(lines)
    for message in po_messages(lines):
        found = faults(message.text)
        if not found:
            continue
        parts = _split_fixed(message.parts, found)
        for offset, part in enumerate(parts):
            number = message.line + offset
            keyword = re.match(r"^(msgid_plural|msgid)?\s*", lines[number]).group()
            lines[number] = f'{keyword}"{_po_escape(part)}"\n'
    return lines


def _split_fixed(parts: list[str], found: list[Fault]) -> list[str]:
    """Apply the faults of the joined text to each part (a fault belongs to one part)."""
    result, start = [], 0
    for position, part in enumerate(parts):
        end = start + len(part)
        last = position == len(parts) - 1
        mine = [
            Fault(f.index - start, f.action)
            for f in found
            if start <= f.index < end or (last and f.index == end)
        ]
        result.append(fixed(part, mine))
        start = end
    return result


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
