"""The payments app's jobs: the « Solde des clients » PDF and the purge of old exports.

PDF layouts run on the queue ``exports``: a worker started without
``--queues`` takes them with every other job; a site with large markets can
give them workers of their own (``procrastinate worker --queues=exports
--concurrency=1``): a layout takes a worker about 260 MB for 2 000 clients,
320 MB for 6 000 (laid out in parts past 2 000; bench/export_pdf.py).
"""

from procrastinate.contrib.django import app

from .exports.balances import balances_pdf
from .exports.services import export_build, exports_purge

# The queue of every PDF layout (distributions' Encaissements too).
EXPORTS_QUEUE = "exports"


@app.task(name="export_balances", queue=EXPORTS_QUEUE)
def export_balances(export_id: int) -> None:
    """Lay out the « Solde des clients » PDF of export ``export_id``."""
    export_build(export_id, balances_pdf)


@app.periodic(cron="17 * * * *", periodic_id="exports_purge")
@app.task(name="exports_purge", queueing_lock="exports_purge")
def exports_purge_old(timestamp: int) -> int:
    """Every hour: delete the exports (and files) asked for more than a day ago."""
    return exports_purge()
