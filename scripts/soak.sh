#!/usr/bin/env bash
# One-hour soak of the conference scenario (not run in CI): builds tolk and
# tolk-load, starts the server with the 12-language conference event, the SRT
# floor, 22 interpreters, the nginx edge and a fixed audience, and samples
# the server every minute into a CSV and a PNG chart (docs/benchmarks.md).
#
#   scripts/soak.sh                       # 1 h, 300 HLS viewers, 100 WHEP listeners
#   DURATION=5m SAMPLE=30s scripts/soak.sh docs/soak-short   # a short run
#
# Needs ffmpeg, nginx and envsubst (gettext-base). Run from the repository.
set -euo pipefail
out=${1:-soak-$(date -u +%Y%m%dT%H%M%SZ)}
: "${DURATION:=1h}" "${SAMPLE:=1m}" "${HLS:=300}" "${WHEP:=100}"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tolk" ./cmd/tolk
go build -o "$bin/tolk-load" ./cmd/tolk-load
"$bin/tolk-load" --mode soak --serve "$bin/tolk" --hls "$HLS" --whep "$WHEP" \
  --duration "$DURATION" --sample "$SAMPLE" --csv "$out.csv" --png "$out.png" ${LABEL:+--label "$LABEL"}
echo "wrote $out.csv and $out.png"
