#!/usr/bin/env bash
# Lint, format, the one-way import contract and strict types on the core packages.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
