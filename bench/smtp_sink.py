"""A local SMTP server in its own process for the benchmarks: appends one tab-separated line
per message (notification id, Message-ID, recipient, the "I have received this" link or -)
to a file, so counting emails never competes with the process that drives the load."""

from __future__ import annotations

import re
import signal
import sys
import threading
from email import message_from_bytes, policy
from typing import Any, TextIO

from aiosmtpd.controller import Controller

ACK_LINK = re.compile(r"https?://\S+/ack/[^/\s]+/")


class Sink:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        link = ACK_LINK.search(body.get_content()) if body is not None else None
        fields = (
            message["X-BreachDesk-Notification"],
            message["Message-ID"],
            ",".join(envelope.rcpt_tos),
            link[0] if link else "-",
        )
        with self.lock:
            self.out.write("\t".join(str(f) for f in fields) + "\n")
            self.out.flush()
        return "250 OK"


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "a", encoding="utf-8") as out:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
        controller.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        controller.stop()


if __name__ == "__main__":
    main()
