"""A real SMTP server on 127.0.0.1 for the fault tests (aiosmtpd), and a free port."""

from __future__ import annotations

import asyncio
import email
import socket
import threading

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (yet): a mail server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collect:
    def __init__(self, delay: float = 0.0):
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()
        self.delay = delay
        self.recipients_seen = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            self.recipients_seen += 1
        if self.delay:  # a slow server: the sender waits in the middle of its job
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class MailServer:
    """``MailServer(port).start()``: accepts every message and keeps it in ``messages``;
    with ``delay``, takes that many seconds to accept each recipient."""

    def __init__(self, port: int, *, delay: float = 0.0):
        self.port = port
        self._handler = _Collect(delay)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port)

    @property
    def messages(self) -> list:
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def recipients_seen(self) -> int:
        """Recipients announced so far, accepted or still waiting for the server."""
        with self._handler.lock:
            return self._handler.recipients_seen

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
