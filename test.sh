#!/usr/bin/env bash
# Runs every FlowWatch test. Installs what the tests need and the machine lacks (Debian's
# prometheus package, for promtool rule tests and the end-to-end alert test); never skips.
set -euo pipefail
cd "$(dirname "$0")"

need_pkgs=()
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_pkgs[*]} (needed by the alert-rule tests)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # The package starts a system Prometheus where it can; the tests run their own on loopback.
  $sudo_cmd service prometheus stop >/dev/null 2>&1 || true
fi

dotnet build FlowWatch.sln -c Release --nologo -v quiet
dotnet test FlowWatch.sln -c Release --no-build --nologo \
  --logger "console;verbosity=normal" --blame-hang-timeout 5m "$@"
