#!/usr/bin/env bash
# The tests, in two phases against the same services (scripts/with-services.sh starts them):
#   1. unit, integration and e2e tests, two files at a time;
#   2. the load tests (test/load), one file at a time with nothing beside them: a load test
#      saturates a small machine on purpose and would starve whatever ran next to it.
# Extra arguments go to both jest runs. With JEST_RESULTS_DIR set, each phase writes its JSON
# report there (main.json, load.json); .ci/run adds them up.
set -uo pipefail

phase() {
  local name=$1
  shift
  local report=()
  if [ -n "${JEST_RESULTS_DIR:-}" ]; then report=(--json "--outputFile=$JEST_RESULTS_DIR/$name.json"); fi
  echo "== jest: $name" >&2
  npx jest --passWithNoTests "$@" "${report[@]}"
}

phase main --selectProjects unit services "$@"
MAIN=$?
# --forceExit: in band, a handle a load test leaves open (fault-platform's, not yet found) would
# keep the run from ever ending; in the main phase jest ends its worker processes itself.
phase load --selectProjects load --runInBand --forceExit "$@"
LOAD=$?
[ "$MAIN" -eq 0 ] && [ "$LOAD" -eq 0 ]
