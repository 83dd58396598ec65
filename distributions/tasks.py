"""The distributions app's jobs: the Encaissements PDF of a distribution."""

from procrastinate.contrib.django import app

from payments.exports.services import export_build
from payments.tasks import EXPORTS_QUEUE

from .cash.pdf import cash_summary_pdf


@app.task(name="export_cash", queue=EXPORTS_QUEUE)
def export_cash(export_id: int) -> None:
    """Lay out the Encaissements PDF of export ``export_id``."""
    export_build(export_id, cash_summary_pdf)
