#!/usr/bin/env bash
# README command 2: set up what the tests need and run them all (CI runs exactly this).
# Extra arguments go to pytest. Test artifacts (screenshots) land in ./test-artifacts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --dev
VENV="${AIINFRA_VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
export AIINFRA_TEST_ARTIFACTS="${AIINFRA_TEST_ARTIFACTS:-$ROOT/test-artifacts}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=1
mkdir -p "$AIINFRA_TEST_ARTIFACTS"

# Static checks first: they take seconds and fail fast (configuration in pyproject.toml).
echo "[test] ruff format --check, ruff check, mypy" >&2
ruff format --check --quiet .
ruff check --quiet .
mypy

set +e
python -m pytest "$@"
rc=$?
set -e
if [[ $rc == 5 ]]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
