"""PDF files from ordinary templates (WeasyPrint), and how far their layout is.

WeasyPrint reports each page it lays out on its ``weasyprint.progress``
logger, a documented way to tell people how a long rendering goes: `pdf_write`
listens to it, for its own thread only (a worker lays out several files at
once), and hands each page number to ``on_page``. The settings keep that
logger's reports away from the console.
"""

import logging
import threading
from collections.abc import Callable

from django.conf import settings

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


def pdf_write(html: str, *, on_page: Callable[[int], None] | None = None) -> bytes:
    """The PDF of ``html`` (static files found from BASE_DIR); ``on_page(n)`` as it goes."""
    # WeasyPrint loads Pango and fonts on import: only what makes a PDF pays for it.
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(settings.BASE_DIR))
    if on_page is None:
        return document.write_pdf()
    handler = _PagesLaidOut(on_page)
    PROGRESS_LOGGER.addHandler(handler)
    try:
        return document.write_pdf()
    finally:
        PROGRESS_LOGGER.removeHandler(handler)
