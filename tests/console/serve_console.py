"""The real app in a process of its own, for the console's browser tests and screenshots:

    python -m tests.console.serve_console --fd N

The same server as the multi-instance push tests use (tests/push/serve_instance.py): settings from
RINGCARD_* environment variables, an inherited listening socket (so a restart serves the same
port), and the test-only `POST /test/publish` route."""

from __future__ import annotations

from tests.push.serve_instance import main

if __name__ == "__main__":
    main()
