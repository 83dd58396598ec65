"""PDF files from ordinary templates (WeasyPrint), and how far their layout is.

WeasyPrint reports each page it lays out on its ``weasyprint.progress``
logger, a documented way to tell people how a long rendering goes: the
functions here listen to it, for their own thread only (a worker lays out
several files at once), and hand each page number to ``on_page``. The
settings keep that logger's reports away from the console.

A long document can be laid out in parts (`pdf_document` for each, then
`pdf_join`): WeasyPrint's memory for one long table grows faster than its
pages, a part at a time it stays about that of the pages.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from weasyprint import HTML, Document

PROGRESS_LOGGER = logging.getLogger("weasyprint.progress")
LAYOUT_PAGE = "Step 5 - Creating layout - Page %d"


class _PagesLaidOut(logging.Handler):
    def __init__(self, on_page: Callable[[int], None]):
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.on_page = on_page

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and record.msg == LAYOUT_PAGE and record.args:
            self.on_page(record.args[0])


@contextmanager
def _listening(on_page: Callable[[int], None] | None):
    if on_page is None:
        yield
        return
    handler = _PagesLaidOut(on_page)
    PROGRESS_LOGGER.addHandler(handler)
    try:
        yield
    finally:
        PROGRESS_LOGGER.removeHandler(handler)


def _html(html: str) -> "HTML":
    # WeasyPrint loads Pango and fonts on import: only what makes a PDF pays for it.
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR))  # static files from BASE_DIR


def pdf_write(html: str, *, on_page: Callable[[int], None] | None = None) -> bytes:
    """The PDF of ``html``; ``on_page(n)`` as each page is laid out."""
    with _listening(on_page):
        return _html(html).write_pdf()


def pdf_document(html: str, *, on_page: Callable[[int], None] | None = None) -> "Document":
    """``html`` laid out (its ``pages``), for `pdf_join`."""
    with _listening(on_page):
        return _html(html).render()


def pdf_join(documents: list["Document"]) -> bytes:
    """One PDF of the pages of ``documents``, in order (WeasyPrint's own recipe)."""
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()
