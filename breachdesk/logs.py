"""Structured logs: one JSON object a line, for the log store to index.

What goes in is what the code logs (ids, counts, durations; never names, addresses or
identifiers: the code logs those nowhere) plus, for an exception, its type and where it was
raised: not its message and not the source lines, because a database error's message can
quote the values of the row it refused.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, _error, tb = record.exc_info
            data["exception"] = kind.__name__
            data["where"] = [
                f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(tb)[-5:]
            ]
        return json.dumps(data, ensure_ascii=False)
