"""Running database work in several threads at once, for concurrency tests."""

import threading

from django.db import connections


def run_together(work, threads: int, *, timeout: int = 120) -> tuple[list, list[BaseException]]:
    """Run ``work(i)`` in ``threads`` threads released at once; return (results, errors).

    Each thread has its own database connection (Django gives one per thread)
    and closes it when done, so the test database can be dropped afterwards.
    """
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def target(i):
        try:
            barrier.wait(timeout=10)
            results.append(work(i))
        except BaseException as exc:  # reported to the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    return results, errors
