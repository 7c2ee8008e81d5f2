#!/usr/bin/env bash
# Builds everything and runs the whole test suite: the release build (all labels), then the engine and media
# libraries again under AddressSanitizer + UndefinedBehaviorSanitizer (unit, parity and fault labels), then a short
# libFuzzer run of every parser (clang, label fuzz-smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
cmake --preset release
cmake --build --preset release -j "$JOBS"
ctest --preset release -j "$JOBS"
if [ "${GLMV_SKIP_SANITIZERS:-0}" != 1 ]; then
    cmake --preset sanitize
    cmake --build --preset sanitize -j "$JOBS"
    ctest --preset sanitize -j "$JOBS"
fi
if [ "${GLMV_SKIP_FUZZ:-0}" != 1 ]; then
    cmake --preset fuzz
    cmake --build --preset fuzz -j "$JOBS"
    ctest --preset fuzz -j "$JOBS"
fi
