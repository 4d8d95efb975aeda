#!/usr/bin/env bash
# scripts/test.sh — set everything up, then run the whole suite: ruff, mypy (strict on minimax_nb/),
# pytest without the browser tests (2 workers), then the browser tests serially.
#
#   bash scripts/test.sh                  # what CI runs (.ci/run)
#   bash scripts/test.sh -k cli -x        # extra arguments go to both pytest runs
#
# Runs every step, then fails if any failed or if pytest collected no test (its exit code 5).
# Under CI=true the browser tests may not skip: a missing Chromium fails the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
bash scripts/setup.sh

PY="$ROOT/.venv/bin/python"
ARTIFACTS="${MINIMAX_NB_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$ARTIFACTS"
export MINIMAX_NB_ARTIFACTS="$ARTIFACTS"
export MPLBACKEND="${MPLBACKEND:-Agg}"
export PYTHONDONTWRITEBYTECODE=1
# Tests must never talk to a real provider, whatever the developer's shell holds.
unset USEAPI_API_TOKEN AIMLAPI_API_KEY APIIN_API_KEY MINIMAX_API_KEY || true

trap 'printf "\n[test.sh] artifacts (junit XML, screenshots): %s\n" "$ARTIFACTS"' EXIT

step() { printf '\n==== %s\n' "$*"; }
start=$(date +%s)

failed=()

step "ruff check ."
"$PY" -m ruff check . || failed+=("ruff")

step "mypy (strict, minimax_nb/)"
"$PY" -m mypy || failed+=("mypy")

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "ERROR: CI=true but Chromium is missing at $CHROMIUM: the browser tests may not skip in CI." >&2
    echo "       scripts/setup.sh installs it with apt-get (needs root or sudo -n)." >&2
    exit 1
  fi
  echo "NOTE: Chromium not found at $CHROMIUM: the browser tests will skip."
fi

# pytest's exit code 5 means "no test collected": a failure here, never a pass.
step "pytest -m 'not browser' -n 2"
rm -f "$ARTIFACTS/fault_matrix.md"
rc=0
"$PY" -m pytest -m "not browser" -n 2 -p no:cacheprovider --junitxml="$ARTIFACTS/junit-main.xml" "$@" || rc=$?
if [ "$rc" = "5" ]; then
  echo "ERROR: pytest collected no test (exit code 5)." >&2
fi
[ "$rc" = "0" ] || failed+=("pytest (exit $rc)")
if [ -s "$ARTIFACTS/fault_matrix.md" ]; then
  step "the fault matrix (tests/integration/test_fault_matrix_batch.py)"
  cat "$ARTIFACTS/fault_matrix.md"
fi

step "pytest -m browser (serial)"
rc=0
"$PY" -m pytest -m browser -p no:cacheprovider --junitxml="$ARTIFACTS/junit-browser.xml" "$@" || rc=$?
if [ "$rc" = "5" ]; then
  if [ "$#" -gt 0 ]; then
    echo "(no browser test among the selected tests)"
    rc=0
  else
    echo "ERROR: the full run found no browser test (pytest exit code 5)." >&2
  fi
fi
[ "$rc" = "0" ] || failed+=("browser pytest (exit $rc)")

took=$(( $(date +%s) - start ))
if [ "${#failed[@]}" -gt 0 ]; then
  printf '\n==== FAILED after %ss: %s\n' "$took" "${failed[*]}" >&2
  exit 1
fi
printf '\n==== all green in %ss\n' "$took"
