#!/usr/bin/env bash
# The whole test suite, with a real PostgreSQL on loopback for the storage tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

# The fault tests drive a real `companion chat` in a tmux pane of their own.
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing tmux for the fault tests" >&2
    apt-get update -qq >&2 && apt-get install -y -qq tmux >&2
  else
    echo "warning: tmux is missing (sudo apt-get install -y tmux); the terminal fault tests will fail" >&2
  fi
fi

if [ -z "${COMPANION_TEST_POSTGRES_URL:-}" ] && [ -f scripts/postgres.sh ]; then
  # postgres.sh installs PostgreSQL if needed, starts a throwaway server on loopback and
  # prints the export line for its URL.
  if pg_env=$(bash scripts/postgres.sh start); then
    eval "$pg_env"
    trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
  else
    echo "warning: PostgreSQL could not be started; its storage tests will be skipped" >&2
  fi
fi

bash scripts/lint.sh
.venv/bin/python -m pytest -p no:cacheprovider "$@"
