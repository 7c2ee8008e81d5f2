#!/usr/bin/env bash
# Packs what a benchmark run on the GPU machine needs (it has no build tools or Debian libraries) into out/devbench,
# a git-ignored folder small enough to travel as a `run` call's carried path with the whole working tree (64 MiB in
# all): the built glmv-bench, the shared libraries it needs beyond glibc and libstdc++ (libdnnl xz-compressed, 40 ->
# 7 MB, so the demo model can stay in the checkout), the real config (full.json), the same config cut to 4 decoder
# layers and 4 vision blocks at full width (m4.json, a 4.8 GB checkpoint that is quick to write), the run script
# tools/devbench-run.sh, and perf (tools/make-perfkit.sh) where this machine has it.
# Usage, after `cmake --build --preset release`: tools/make-devkit.sh [BASELINE_GLMV_BENCH]
#   BASELINE_GLMV_BENCH: a glmv-bench built from an earlier commit (e.g. a `git worktree` of it), packed as
#   glmv-bench-old so that devbench-run.sh measures both, alternating, on the same machine.
# On the GPU machine: `bash out/devbench/devbench-run.sh` writes $OUT/results.txt.
# Lessons from using it: a call returned 8 files of $OUT and left the rest out ("count"), and names with ':' are
# refused, so collect results in one file; glmv-bench encodes a 32-frame video unless given --video-frames 0 (minutes
# for the 9B); with perf, put the kit's folder in perf's LD_LIBRARY_PATH too, or the benchmark loses libdnnl; a
# machine that is not started or is taken back still costs device time, so put everything in one call, cheapest
# first, each step under its own timeout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit="$root/out/devbench"
mkdir -p "$kit"
cp "$root/build/bench/glmv-bench" "$kit/"
if [ $# -ge 1 ]; then cp "$1" "$kit/glmv-bench-old"; else rm -f "$kit/glmv-bench-old"; fi
for lib in libdnnl.so.2 libgomp.so.1 libOpenCL.so.1; do
    cp -L "$(ldd "$root/build/bench/glmv-bench" | awk -v l="$lib" '$1 == l {print $3}')" "$kit/"
done
xz -f -T0 "$kit/libdnnl.so.2"
install -m 644 "$root/../shared/glm4v-assets/config.json" "$kit/full.json"
python3 - "$kit/full.json" "$kit/m4.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["num_hidden_layers"] = 4
c["vision_config"]["depth"] = 4
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
install -m 755 "$root/tools/devbench-run.sh" "$kit/"
if command -v perf >/dev/null; then [ -f "$kit/perfkit.tar.xz" ] || "$root/tools/make-perfkit.sh" "$kit"; fi
du -sh "$kit"
