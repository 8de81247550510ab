#!/usr/bin/env bash
# Runs every FlowWatch test. Installs what the tests need and the machine lacks (Debian's prometheus package, for
# promtool rule tests and the end-to-end alert test; kubectl, for rendering deploy/ with kustomize; tmux, a terminal
# for the live view test). Tests that need ../shared (the corpus of real recordings, the
# real Hubble tools) are reported as skipped where it is absent, never as passed; the last line is always
#   tests: N passed, N failed, N skipped
# and in CI (CI=true), where ../shared is always present, a skipped test fails the run.
set -uo pipefail
cd "$(dirname "$0")"

need_pkgs=()
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)   # promtool rule tests, the end-to-end alert test
command -v kubectl >/dev/null 2>&1 || need_pkgs+=(kubectl)         # kubectl kustomize renders deploy/ in KustomizeTests
command -v tmux >/dev/null 2>&1 || need_pkgs+=(tmux)               # a pseudo-terminal for the live view test (LiveViewTests)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_pkgs[*]} (needed by the tests)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  for pkg in "${need_pkgs[@]}"; do
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null \
      || echo "test.sh: could not install $pkg; the tests that need it will fail and say so"
  done
  # The package starts a system Prometheus where it can; the tests run their own on loopback.
  $sudo_cmd service prometheus stop >/dev/null 2>&1 || true
fi

dotnet build FlowWatch.sln -c Release --nologo -v quiet || { echo "tests: 0 passed, 0 failed, 0 skipped (the build failed)"; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test FlowWatch.sln -c Release --no-build --nologo \
  --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 5m "$@"
status=$?

# Sum the counters of every test project's TRX file, and name each test that did not run, with its reason.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1)
  attr() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(attr passed)))
  failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
  # The TRX counts a skipped test in total, not in executed (its notExecuted counter stays 0).
  skipped=$((skipped + $(attr total) - $(attr executed)))
  # A skipped result's element holds outcome="NotExecuted"; its skip reason is the message that follows it.
  tr -d '\r' < "$trx" | awk '
    /<UnitTestResult / && /outcome="NotExecuted"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1 }
    want && /<Message>/ { msg = $0; sub(/.*<Message>/, "", msg); sub(/<\/Message>.*/, "", msg); print "  not run: " name " -- " msg; want = 0 }
    want && /<\/UnitTestResult>/ { print "  not run: " name; want = 0 }
  ' >> "$results/skipped.txt"
  # CI shows only the tail of this output, so each failed test is named again here with the start of its message.
  tr -d '\r' < "$trx" | awk '
    /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; lines = 0 }
    want && /<Message>/ { inmsg = 1; sub(/.*<Message>/, "") }
    want && inmsg { line = $0; done = sub(/<\/Message>.*/, "", line); if (lines == 0) print "  FAILED: " name; if (lines < 6) print "    " line; lines++; if (done) { inmsg = 0; want = 0 } }
    want && !inmsg && /<\/UnitTestResult>/ { print "  FAILED: " name; want = 0 }
  ' >> "$results/failed.txt"
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "test.sh: dotnet test exited $status without a failed test in its results (crash or hang); counted as 1 failed"; fi
if [ -s "$results/skipped.txt" ]; then
  echo "Tests that did not run, and why:"
  sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' "$results/skipped.txt"
fi
if [ -s "$results/failed.txt" ]; then
  echo "Tests that failed:"
  sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' "$results/failed.txt"
fi
if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then
  echo "test.sh: $skipped test(s) did not run in CI, where ../shared must be present; failing the run"
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
