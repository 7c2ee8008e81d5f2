#!/usr/bin/env bash
# Builds the app (release) and starts it; extra arguments go to glmv-desktop (e.g. --model DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target glmv-desktop glmv-cli -j "$(nproc)"
exec ./build/app/desktop/glmv-desktop "$@"
