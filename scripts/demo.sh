#!/usr/bin/env bash
# README command 1: set up, run the main job end to end on the embedded default, then
# serve the Dagster UI on 127.0.0.1 to browse what was built.
# Environment: AIINFRA_PROFILE (default demo), DAGSTER_HOME (default ./.aiinfra/dagster_home),
# AIINFRA_UI_PORT (default 3000), AIINFRA_NO_UI=1 to stop after the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
VENV="${AIINFRA_VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
export AIINFRA_PROFILE="${AIINFRA_PROFILE:-demo}"
export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.aiinfra/dagster_home}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
aiinfra instance "$DAGSTER_HOME" >/dev/null

echo "[demo] profile=$AIINFRA_PROFILE DAGSTER_HOME=$DAGSTER_HOME"
start=$(date +%s)
dagster job execute -m aiinfra_dagster.definitions -j main
echo "[demo] main job finished in $(( $(date +%s) - start )) s"
# The champion keeps being served after the run (bento_deployment): say where.
echo "[demo] $(python -m aiinfra_dagster.serving.process status 2>&1 || true)"

if [[ "${AIINFRA_NO_UI:-0}" == 1 ]]; then exit 0; fi
PORT="${AIINFRA_UI_PORT:-3000}"
echo "[demo] Dagster UI: http://127.0.0.1:$PORT (Ctrl-C to stop)"
exec dagster dev -w workspace.yaml -h 127.0.0.1 -p "$PORT"
