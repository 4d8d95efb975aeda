#!/usr/bin/env bash
# scripts/setup.sh — make this checkout ready to run: .venv, the package with its dev extras, and the
# Debian packages the browser tests and audio checks use (chromium, chromium-driver, sox).
#
#   bash scripts/setup.sh             # everything
#   bash scripts/setup.sh --no-apt    # Python side only (no apt-get): browser tests will skip
#
# Idempotent and quick on a second run: the pip install is skipped while pyproject.toml is unchanged
# since the last install (a stamp file in .venv). Shared by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
STAMP="$VENV/.minimax_nb-install.stamp"
WANT_APT=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) WANT_APT=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }

# --- system packages -------------------------------------------------------------------------------
SUDO=""
can_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$(id -u)" = "0" ]; then SUDO=""; return 0; fi
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; return 0; fi
  return 1
}
APT_UPDATED=0
apt_install() {  # apt_install PKG... (best effort; returns non-zero when impossible)
  can_apt || return 1
  if [ "$APT_UPDATED" = "0" ]; then
    log "apt-get update"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pick_python() {
  local c
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}

# --- the virtual environment -----------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python) || { echo "[setup] ERROR: Python >= 3.11 is required (python3.11 or python3)." >&2; exit 1; }
  log "creating .venv with $PY ($("$PY" --version 2>&1))"
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    # Debian splits venv/ensurepip into pythonX.Y-venv.
    rm -rf "$VENV"
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python${ver}-venv" || apt_install python3-venv ||
      { echo "[setup] ERROR: '$PY -m venv' failed; install python${ver}-venv." >&2; exit 1; }
    "$PY" -m venv "$VENV"
  fi
fi

want_stamp=$( { cat pyproject.toml; echo "$ROOT"; } | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] &&
   (cd / && "$VENV/bin/python" -c 'import minimax_nb') >/dev/null 2>&1; then
  log "python packages up to date (pyproject.toml unchanged since the last install)"
else
  log "pip install -e '.[dev]' (first run downloads JupyterLab and friends: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  pip_log="$(mktemp)"
  rc=0
  "$VENV/bin/python" -m pip install -q -e ".[dev]" >"$pip_log" 2>&1 || rc=$?
  # Show pip's output minus the noise about configured package locations that do not exist here.
  grep -v -e "is ignored: it is neither a file nor a directory" "$pip_log" || true
  rm -f "$pip_log"
  if [ "$rc" != "0" ]; then
    echo "[setup] ERROR: pip install failed (exit $rc)." >&2
    exit "$rc"
  fi
  echo "$want_stamp" > "$STAMP"
fi

# --- Debian packages: chromium (+driver) for the browser tests, sox for audio checks --------------
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v sox >/dev/null 2>&1 || missing+=(sox)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$WANT_APT" = "1" ] && apt_install "${missing[@]}"; then
    log "installed ${missing[*]}"
  else
    echo "[setup] NOTE: could not install ${missing[*]} (needs root or password-less sudo, and apt-get)." >&2
    echo "[setup]       The browser tests will SKIP. To run them: sudo apt-get install ${missing[*]}" >&2
  fi
fi
log "ready: $VENV ($("$VENV/bin/python" --version 2>&1))"
