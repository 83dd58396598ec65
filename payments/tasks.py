"""The payments app's jobs: the « Solde des clients » PDF and the purge of old exports."""

from procrastinate.contrib.django import app

from .exports.balances import balances_pdf
from .exports.services import export_build, exports_purge


@app.task(name="export_balances")
def export_balances(export_id: int) -> None:
    """Lay out the « Solde des clients » PDF of export ``export_id``."""
    export_build(export_id, balances_pdf)


@app.periodic(cron="17 * * * *", periodic_id="exports_purge")
@app.task(name="exports_purge", queueing_lock="exports_purge")
def exports_purge_old(timestamp: int) -> int:
    """Every hour: delete the exports (and files) asked for more than a day ago."""
    return exports_purge()
