"""Log output an operator can ship to a log service: one line per event (text or JSON), nothing
secret or personal in it.

`logging_config(settings)` is a `logging.config.dictConfig` dict; `ringcard serve` hands it to
uvicorn (which applies it itself), and other commands apply it with `configure_logging`. The app
factory never touches logging: importing or building the app leaves the host's logging alone.

What every line goes through (`RedactingFormatter`):
- access lines (uvicorn.access, and uvicorn's websocket handshake lines): the request target is
  rewritten by `app.kit.log_redaction.redact_target` before the line is formatted;
- messages of other libraries and every traceback: tokens, emails and phone-shaped digit runs are
  masked by shape (`scrub_text`);
- our own `ringcard.*` messages mask numbers and names where they are written (app/kit/masking.py), so
  here they lose only tokens and emails: their call ids are digit runs a shape rule would mangle;
- the configured secrets (API keys, provider tokens, database and Redis passwords) are removed from
  every line whatever wrote it.

Each event is one line: in text mode newlines and other control characters in the message and
the traceback are written as escapes (`\\n`), the traceback following the message after ` | `; in
JSON mode the traceback is the `exc` field.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.kit.log_redaction import SecretValues, redact_target, scrub_text

if TYPE_CHECKING:
    from app.settings import Settings

# uvicorn's own loggers (0.32): access lines, and the server's lines (websocket handshakes among them).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
_ACCESS_ARGS = 5  # client, method, target, http version, status
_WEBSOCKET_LINE = '%s - "WebSocket %s"'
# Everything `str.splitlines` breaks on, and the other control characters.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one_line(text: str) -> str:
    text = text.replace("\\", "\\\\")
    return _LINE_BREAKING.sub(lambda m: _ESCAPES.get(m.group(0), f"\\x{ord(m.group(0)):02x}"), text)


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


# Settings fields that hold a secret, by name, so a secret added later is covered without a list
# to keep up to date; the Telnyx key is public (it verifies, it does not sign).
_SECRET_FIELD = re.compile(r"(^|_)(key|token|secret|password)$")
_PUBLIC_FIELDS = frozenset({"telnyx_public_key"})


def secret_values(settings: Settings) -> list[str]:
    """Every secret the service is configured with, as written in the settings."""
    values = [
        getattr(settings, name)
        for name in type(settings).model_fields
        if _SECRET_FIELD.search(name) and name not in _PUBLIC_FIELDS
    ]
    values += [_url_password(settings.database_url), _url_password(settings.redis_url)]
    return [value for value in values if isinstance(value, str) and value]


class RedactingFormatter(logging.Formatter):
    """One line per record, text or JSON, with secrets and personal data taken out (module doc)."""

    def __init__(self, style: str = "text", secrets: list[str] | None = None) -> None:
        super().__init__()
        if style not in ("text", "json"):
            raise ValueError(f"unknown log format {style!r}; use text or json")
        self.json = style == "json"
        self.secrets = SecretValues(secrets or [])

    def _message(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and isinstance(record.msg, str):
            if record.name == "uvicorn.access" and len(args) == _ACCESS_ARGS:
                args = (args[0], args[1], redact_target(str(args[2])), *args[3:])
                return scrub_text(record.msg % args, phones=False)
            if record.name.startswith("uvicorn") and record.msg.startswith(_WEBSOCKET_LINE) and len(args) > 1:
                args = (args[0], redact_target(str(args[1])), *args[2:])
                return scrub_text(record.msg % args, phones=False)
        own = record.name == "ringcard" or record.name.startswith("ringcard.")
        return scrub_text(record.getMessage(), phones=not own)

    def _exception(self, record: logging.LogRecord) -> str | None:
        parts = []
        if record.exc_info and record.exc_info[0] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        return scrub_text("\n".join(parts)) if parts else None

    def format(self, record: logging.LogRecord) -> str:
        # rstrip: uvicorn ends some messages with a newline of its own ("Exception in ASGI application\n").
        message = self.secrets.remove(self._message(record)).rstrip()
        exception = self._exception(record)
        if exception is not None:
            exception = self.secrets.remove(exception)
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        ts = ts.replace("+00:00", "Z")
        if self.json:
            event: dict[str, str] = {
                "ts": ts,
                "level": record.levelname,
                "logger": record.name,
                "msg": message,
            }
            if exception is not None:
                event["exc"] = exception
            # ASCII only: U+2028 and friends stay escaped, so no reader splits a record in two.
            return json.dumps(event, ensure_ascii=True)
        line = f"{ts} {record.levelname} {record.name} {_one_line(message)}"
        return line if exception is None else f"{line} | {_one_line(exception)}"


def logging_config(settings: Settings, *, stream: str = "ext://sys.stderr") -> dict[str, Any]:
    """The dictConfig for the service: one handler (stderr: stdout stays for the command's own
    output) on the root logger; uvicorn's loggers propagate to it instead of printing their own.

    RINGCARD_LOG_LEVEL=DEBUG opens only `ringcard.*`: libraries stay at INFO, because their debug
    lines (aiosqlite's, for one) print SQL statements with their parameters."""
    level = settings.log_level
    library_level = level if logging.getLevelName(level) >= logging.INFO else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "ringcard": {
                "()": f"{__name__}.RedactingFormatter",
                "style": settings.log_format,
                "secrets": secret_values(settings),
            }
        },
        "handlers": {
            "ringcard": {"class": "logging.StreamHandler", "formatter": "ringcard", "stream": stream}
        },
        "root": {"level": library_level, "handlers": ["ringcard"]},
        "loggers": {
            "ringcard": {"level": level, "handlers": [], "propagate": True},
            **{name: {"level": library_level, "handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config` to this process (commands other than `serve`, whose uvicorn applies
    it); warnings go through the same handler, so they are one line each too."""
    logging.config.dictConfig(logging_config(settings))
    logging.captureWarnings(True)
