#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests on a real local control plane that the
# test fixture starts (hack/control-plane.sh). Installs what it needs; prints a final line
# "N passed, N failed, N skipped" computed from the test runner's results.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RESULTS=$ROOT/.local/test-results
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

command -v dotnet >/dev/null || { echo "dotnet SDK not found on PATH" >&2; exit 1; }
# The control-plane binaries (built once, cached under ~/.cache) and the tools the tests call.
bash hack/control-plane.sh build || { echo "could not build or find the control-plane binaries" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
bash hack/tools.sh || { echo "could not install the test tools" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
export PATH="$(bash hack/tools.sh --bin-dir):$PATH"

status=0
dotnet build ResilienceOperator.sln -c Release 2>&1 | tail -3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# House rules (.editorconfig): whitespace and code style are checked, not fixed; a difference
# counts as one failed check in the summary. `dotnet format ResilienceOperator.sln` fixes them.
format_failed=0
if ! dotnet format whitespace ResilienceOperator.sln --verify-no-changes \
  || ! dotnet format style ResilienceOperator.sln --verify-no-changes --severity warn; then
  echo "dotnet format: the code does not follow .editorconfig (run: dotnet format ResilienceOperator.sln)" >&2
  format_failed=1; status=1
fi
# A test host that hangs is killed (and reported) instead of eating the CI budget; each
# integration test also has its own deadline (xunit Timeout).
for project in tests/Operator.Tests tests/Integration.Tests; do
  name=$(basename "$project")
  dotnet test "$project" -c Release --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" \
    --logger "console;verbosity=normal" --blame-hang-timeout 15m 2>&1 | grep -vE '^\s*$' | tail -n 400
  # PIPESTATUS must be read in the very next command: anything between resets it.
  code=${PIPESTATUS[0]}
  if [ "$code" -ne 0 ]; then echo "dotnet test $project exited with $code" >&2; status=1; fi
done

passed=0; failed=0; skipped=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  outcome=$(grep -o '<ResultSummary outcome="[A-Za-z]*"' "$trx" | head -1 | sed 's/.*outcome="//; s/"//')
  # A run that executed nothing, or ended other than Completed (e.g. the host crashed), fails.
  if [ "${executed:-0}" -eq 0 ]; then echo "$(basename "$trx"): no test was executed" >&2; failed=$((failed + 1)); fi
  case "$outcome" in
    Completed|Failed) ;;
    *) echo "$(basename "$trx"): run outcome '${outcome:-missing}' (a test host crashed or was aborted)" >&2; failed=$((failed + 1)) ;;
  esac
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
expected_trx=2
found=$(ls "$RESULTS"/*.trx 2>/dev/null | wc -l)
if [ "$found" -lt "$expected_trx" ]; then
  echo "only $found of $expected_trx test result files were written: a test run crashed" >&2
  failed=$((failed + expected_trx - found)); status=1
fi
failed=$((failed + format_failed))
# A runner that failed while every counted test passed (a crash after the last result) still fails the run.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
