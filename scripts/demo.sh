#!/usr/bin/env bash
# scripts/demo.sh — set everything up, then open the studio in JupyterLab on provider "local" (the
# offline emulator and synthesizer: no key, no network).
#
#   bash scripts/demo.sh              # JupyterLab with notebooks/02_studio.ipynb (Ctrl-C to stop)
#   bash scripts/demo.sh --headless   # no browser: generate one song, print its DataFrame row and path
#
# Environment: PORT (default 8888), MINIMAX_NB_LOCAL_SPEED (emulator speed, default 10 = a song in ~5 s).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
HEADLESS=0
for arg in "$@"; do
  case "$arg" in
    --headless) HEADLESS=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $arg (try --headless)" >&2; exit 2 ;;
  esac
done

if [ "$HEADLESS" = "1" ]; then
  bash scripts/setup.sh --no-apt
  exec .venv/bin/python scripts/demo_headless.py
fi

bash scripts/setup.sh
PORT="${PORT:-8888}"
# A fresh token per run (the server only listens on 127.0.0.1, but other local users exist).
TOKEN="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')"
FLAGS=()
[ "$(id -u)" = "0" ] && FLAGS+=(--allow-root)
# No display on Linux: don't try to start a browser, just print the URL.
[ "$(uname -s)" = "Linux" ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && FLAGS+=(--no-browser)
# Quiet JupyterLab defaults for this venv only: no news toast over the studio, no update checks.
OVERRIDES=.venv/share/jupyter/lab/settings/overrides.json
if [ ! -f "$OVERRIDES" ]; then
  mkdir -p "$(dirname "$OVERRIDES")"
  echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
    > "$OVERRIDES"
fi
echo
echo "The studio (provider local: offline, no key), once JupyterLab is up:"
echo "    http://127.0.0.1:$PORT/lab/tree/notebooks/02_studio.ipynb?token=$TOKEN"
echo "Run all cells (Run > Run All Cells), then compose and press Generate. Stop with Ctrl-C."
echo
exec .venv/bin/python -m jupyterlab "${FLAGS[@]}" --ip=127.0.0.1 --port="$PORT" \
  --IdentityProvider.token="$TOKEN" --ServerApp.root_dir="$PWD" \
  --LabApp.default_url=/lab/tree/notebooks/02_studio.ipynb \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
