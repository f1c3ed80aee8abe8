#!/usr/bin/env bash
# Installs what Folio needs on a fresh Debian/Ubuntu machine with Node.js >= 20.19: nats-server
# (Debian package) if it is missing, the outside tools the tests compare against or drive, then the
# npm dependencies from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_UPDATED=""
# apt_install "what for" package… : installs Debian packages, once per run updating the index.
# A package that cannot be installed stops the script with one line naming it: the tests treat a
# missing comparator as a failure under CI=true, so a silent skip here would only move the error.
apt_install() {
  local why="$1"; shift
  echo "installing $* ($why)…"
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq || { echo "install.sh: apt-get update failed; cannot install $* ($why)" >&2; exit 1; }
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { echo "install.sh: could not install $* ($why); install it by hand and run this again" >&2; exit 1; }
}

command -v nats-server >/dev/null 2>&1 || apt_install "the message bus" nats-server

# Tesseract (English and Simplified Chinese) is the comparator the CPU engine's tests and
# `npm run bench` measure against.
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim; then
  apt_install "the CPU engine's comparator" tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim
fi

# promtool (Debian's prometheus package, ~19 MB) lints /metrics, the Prometheus files in deploy/ and
# the dashboard's PromQL in test/ops-*.test.ts.
if ! command -v promtool >/dev/null 2>&1; then
  apt_install "promtool" prometheus
  # Only the tool is wanted: the package also enables a Prometheus server where systemd runs.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

# Chromium drives the browser tests of the upload page and the viewer (playwright-core, no download).
[ -x /usr/bin/chromium ] || apt_install "the browser tests" chromium

# LibreOffice (headless, as in deploy/Dockerfile) turns Office uploads (docx, xlsx, odt, pptx…) into
# PDFs.
command -v soffice >/dev/null 2>&1 || apt_install "Office uploads" libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui fonts-dejavu-core fonts-liberation2

# poppler-utils' pdftoppm is the rasterizer benchmark's comparator (`npm run bench`).
command -v pdftoppm >/dev/null 2>&1 || apt_install "the rasterizer's comparator" poppler-utils

# xmllint checks the hOCR output is well-formed and validates the ALTO output against its XSD.
command -v xmllint >/dev/null 2>&1 || apt_install "the hOCR and ALTO tests" libxml2-utils

# Python's requests is the second real HTTP client the refusal tests drive (500 concurrent uploads).
python3 -c 'import requests' >/dev/null 2>&1 || apt_install "the HTTP client tests" python3-requests

# onnxruntime-node's install script downloads GPU files from outside npm; its CPU binaries are in the package.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
