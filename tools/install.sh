#!/usr/bin/env bash
# Installs what Folio needs on a fresh Debian/Ubuntu machine with Node.js >= 20.19:
# nats-server (Debian package) if it is missing, then the npm dependencies from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
  echo "installing nats-server (Debian package)…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
fi

# Tesseract (Debian's package, English and Simplified Chinese) is the comparator the CPU engine's
# tests and `npm run bench` measure against; they skip the comparison when it is missing.
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim; then
  echo "installing tesseract-ocr (Debian package, eng + chi_sim)…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim >/dev/null
fi

# promtool (Debian's prometheus package, ~19 MB) lints /metrics, the Prometheus files in deploy/ and
# the dashboard's PromQL in test/ops-*.test.ts; those checks are skipped (and say so) without it.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null || echo "promtool not installed; its checks will be skipped"
  # Only the tool is wanted: the package also enables a Prometheus server where systemd runs.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

# onnxruntime-node's install script downloads GPU files from outside npm; its CPU binaries are in the package.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
