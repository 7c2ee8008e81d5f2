#!/usr/bin/env bash
# Installs everything needed to build, test and run GLM-V Desktop on Debian 12 / Ubuntu 24.04.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential cmake ninja-build pkg-config git ca-certificates \
    libeigen3-dev nlohmann-json3-dev libpcre2-dev libgtest-dev libgmock-dev libbenchmark-dev libomp-dev libdnnl-dev \
    libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg \
    libpoppler-cpp-dev libpng-dev libjpeg-dev libwebp-dev libtiff-dev libgif-dev libexif-dev \
    qt6-base-dev qt6-base-dev-tools qt6-multimedia-dev qt6-svg-dev qt6-tools-dev qt6-tools-dev-tools \
    libqt6sql6-sqlite libgl-dev libcpp-httplib-dev libssl-dev \
    clang libclang-rt-14-dev xvfb xauth fonts-dejavu-core python3 python3-pil python3-numpy debootstrap
# Node.js for the server test's OpenAI client: the machine's own if it has one (NodeSource builds bundle npm and
# conflict with Debian's npm package), else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# The OpenAI client used by the server test (tests/server), from the npm registry.
npm install --prefix "$(dirname "$0")/../tests/server" --no-save --no-audit --no-fund openai@4 >/dev/null
