"""A sign-in flood does not slow the calls: signed Twilio webhooks keep their answer time while 60
clients post wrong passwords, and the service's memory stays bounded.

The service runs as operators run it (`ringcard serve` in its own process); the flood comes from
another process, as it would from another machine. The limits are raised out of the way so that
every flood request costs a real Argon2 check: the worst case, many addresses guessing many
usernames. bench/login_flood.py runs the same for longer and prints the figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.db.migrate import upgrade
from bench.common import service_process
from bench.login_flood import flood_beside_webhooks, pct, service_env
from tests.conftest import in_own_thread

# Generous beside the 50 ms budget the benchmark proves: this suite shares two cores with the
# flood, the timing client and everything else; before the fix the same run measured p50 770 ms.
TWIML_P99_MS = 150
MEMORY_PEAK_MB = 400


def test_signed_webhooks_keep_their_pace_beside_a_sign_in_flood(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'flood.db'}"
    in_own_thread(upgrade, url)
    with service_process(service_env(url), cwd=tmp_path) as service:
        result = asyncio.run(flood_beside_webhooks(service.base, service.pid, clients=60, seconds=6, rate=20))
    flood_p99 = pct(result.flood_ms, 99)
    assert flood_p99 <= TWIML_P99_MS, f"TwiML p99 {flood_p99:.0f} ms beside the flood"
    # The flood really ran, and hit the hashing (401) and its bounded queue (503), never a 500.
    assert result.flood_answers[401] > 0 and result.flood_answers[503] > 0, result.flood_answers
    assert set(result.flood_answers) <= {401, 503}, result.flood_answers
    assert result.rss_peak_mb < MEMORY_PEAK_MB, f"the service grew to {result.rss_peak_mb:.0f} MB"
