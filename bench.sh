#!/usr/bin/env bash
# Throughput and memory figures in one run: ./bench.sh [--flows N] [--repeats N]
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet run -c Release --project tests/FlowWatch.Benchmarks -- "$@"
