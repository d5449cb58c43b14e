# Ringcard service image. Configure with RINGCARD_* environment variables (see README.md and
# docs/production.md); in production set RINGCARD_ENV=production, RINGCARD_DATABASE_URL=
# postgresql+asyncpg://..., RINGCARD_PUBLIC_URL, and FORWARDED_ALLOW_IPS=<the proxy's address>.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/ringcard
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Editable: `ringcard migrate` reads alembic.ini and migrations/ next to the app package, which
# a plain `pip install .` would copy into site-packages without them.
RUN pip install -e . \
 && useradd --system --uid 10001 --home-dir /srv/ringcard ringcard \
 && mkdir -p /srv/ringcard/data && chown ringcard /srv/ringcard/data

USER ringcard
# The SQLite default lives in a volume; production points RINGCARD_DATABASE_URL at PostgreSQL.
ENV RINGCARD_DATABASE_URL=sqlite+aiosqlite:////srv/ringcard/data/ringcard.db \
    RINGCARD_HOST=0.0.0.0 \
    RINGCARD_PORT=8000
VOLUME ["/srv/ringcard/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
# One instance: migrate, then serve. Several: run `ringcard migrate` once per release and start
# the replicas with `ringcard serve`.
CMD ["sh", "-c", "ringcard migrate && exec ringcard serve"]
