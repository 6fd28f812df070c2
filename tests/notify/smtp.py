"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the e-mail tests:
Django's SMTP backend talks to it over TCP, as it would to a provider's relay."""

import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.jobs import wait_for


class Sink:
    def __init__(self):
        self.messages = []  # email.message.EmailMessage, in arrival order
        self.refuse = 0  # answer this many DATA commands with a temporary failure
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            message.envelope_to = list(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"

    def start(self) -> "Sink":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str, subject_part: str = "") -> list:
        with self.lock:
            return [m for m in self.messages if m.envelope_to == [address] and subject_part in m["subject"]]

    def wait(self, address: str, subject_part: str, seconds: float = 20):
        """The one message to ``address`` whose subject contains ``subject_part`` (waits for it)."""
        assert wait_for(lambda: self.to(address, subject_part), seconds), (
            f"no e-mail to {address} about {subject_part!r}; received: {self.summary()}")
        found = self.to(address, subject_part)
        assert len(found) == 1, f"{len(found)} e-mails to {address} about {subject_part!r}"
        return found[0]

    def summary(self) -> list[tuple]:
        with self.lock:
            return [(m.envelope_to, m["subject"]) for m in self.messages]


def parts(message) -> tuple[str, str]:
    """The plain text and the HTML of a message (both must be there)."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "the e-mail must have a text and an HTML part"
    return text.get_content(), html.get_content()
