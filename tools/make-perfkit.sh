#!/usr/bin/env bash
# Packs this machine's perf (linux-perf) with the shared libraries it needs, minus glibc, into one tarball that can
# travel to the GPU machine (which has no perf) with a `run` call's carried folder. There, as root:
#   mkdir -p /tmp/pk && tar xJf perfkit.tar.xz -C /tmp/pk
#   LD_LIBRARY_PATH=/tmp/pk/perfkit /tmp/pk/perfkit/perf record -e cpu-clock -F 2000 -o /tmp/perf.data CMD
#   LD_LIBRARY_PATH=/tmp/pk/perfkit /tmp/pk/perfkit/perf report -i /tmp/perf.data --no-children --sort dso,symbol --stdio
# (hardware counters are not available in the machine's VM; the cpu-clock event is). About 7 MB.
# Usage: tools/make-perfkit.sh OUT_DIR
set -euo pipefail
out=${1:?usage: tools/make-perfkit.sh OUT_DIR}
perf_bin=$(command -v perf) || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/perfkit" "$out"
cp "$perf_bin" "$work/perfkit/perf"
ldd "$perf_bin" | awk '{print $3}' | grep / | grep -v -E 'libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|ld-linux' |
    while read -r lib; do cp -L "$lib" "$work/perfkit/"; done
tar cJf "$out/perfkit.tar.xz" -C "$work" perfkit
echo "wrote $out/perfkit.tar.xz ($(du -h "$out/perfkit.tar.xz" | cut -f1))"
