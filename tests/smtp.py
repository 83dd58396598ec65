"""A real SMTP server on 127.0.0.1 for the fault tests (aiosmtpd), and a free port."""

from __future__ import annotations

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
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class MailServer:
    """``MailServer(port).start()``: accepts every message and keeps it in ``messages``."""

    def __init__(self, port: int):
        self.port = port
        self._handler = _Collect()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port)

    @property
    def messages(self) -> list:
        with self._handler.lock:
            return list(self._handler.messages)

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
