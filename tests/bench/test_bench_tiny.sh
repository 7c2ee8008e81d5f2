#!/bin/sh
# CI's benchmark run (issue 7: "CI runs the benchmark only on the tiny model"): glmv-bench on the tiny fixture
# model writes its flat JSON report, every contract key is there with a plausible value, every fraction is taken
# against a ceiling measured next to it that it cannot exceed by much, and a follow-up turn with the same image reuses the KV cache prefix
# and the vision embeddings (time to first token of turn 2 ≤ 10 % of turn 1).
# usage: test_bench_tiny.sh GLMV_BENCH SHARED_DIR
set -eu
bench=$1
model=$2/fixtures/glm4v-tiny/model
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for weights in bf16 q8 q4; do
    "$bench" --model "$model" --weights $weights --prefill 64,256 --decode-ctx 64 --vision-mp 1 \
        --video-frames 4 \
        --json "$out/$weights.json" > "$out/$weights.log" 2>&1 || { cat "$out/$weights.log"; exit 1; }
    /usr/bin/python3 - "$out/$weights.json" $weights <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
weights = sys.argv[2]
problems = []
for key in ("decode_tokens_per_s", "decode_roofline_fraction", "prefill_tokens_per_s", "ttft_ms", "peak_rss_bytes",
            "memory_bandwidth_gbs", "gemm_peak_gflops", "prefill_gemm_fraction", "vision_gemm_fraction_1mp",
            "load_ms", "ttft_turn2_fraction", "video_vision_ms", "video_vision_gemm_fraction",
            "decode_bandwidth_gbs_ctx64", "prefill_gemm_peak_gflops_64", "vision_gemm_peak_gflops_1mp",
            "prefill_library_gemm_gflops_64", "prefill_library_gemm_fraction_64", "vision_library_gemm_fraction_1mp"):
    if not isinstance(r.get(key), (int, float)) or r[key] <= 0:
        problems.append(f"{key} missing or not positive: {r.get(key)!r}")
if r.get("weight_format") != weights:
    problems.append(f"weight_format {r.get('weight_format')!r}, asked for {weights}")
# The GEMM ceiling is the FMA peak: nothing the engine does can beat it (10 % margin for clock noise).
for key in ("prefill_gemm_fraction", "vision_gemm_fraction_1mp", "video_vision_gemm_fraction"):
    if r.get(key, 0) > 1.1:
        problems.append(f"{key} = {r[key]:.2f}: above the measured peak, so the ceiling is wrong")
# Each fraction is judged against the probe taken next to its measurement (main.cpp, bandwidth_probe_here).
roofline = r.get("decode_roofline_tokens_per_s_ctx64", 0)
if roofline <= 0 or abs(r.get("decode_roofline_fraction_ctx64", 0) - r.get("decode_tokens_per_s_ctx64", 0) / roofline) > 1e-9:
    problems.append("decode_roofline_fraction_ctx64 is not decode tokens/s over the roofline tokens/s")
# Peak RSS leaves out the bandwidth probes' 512 MiB buffers (their high-water mark is reset after each).
if r.get("peak_rss_bytes", 0) > r.get("rss_after_first_decode_bytes", 0) + (400 << 20):
    problems.append(f"peak RSS {r.get('peak_rss_bytes')} counts a bandwidth probe's buffer")
if r.get("ttft_turn2_fraction", 1) > 0.10:
    problems.append(f"turn-2 time to first token is {r['ttft_turn2_fraction']:.1%} of turn 1 (target <= 10 %)")
print(weights, {k: round(v, 4) if isinstance(v, float) else v for k, v in sorted(r.items())
                if k in ("decode_roofline_fraction", "prefill_gemm_fraction", "ttft_turn2_fraction", "weight_format")})
if problems:
    print("\n".join(problems))
    sys.exit(1)
PY
done
# The decoder's per-phase times (GLMV_DECODE_PHASES=1): every phase reported, and together they account for a
# decode step (they are taken inside it; the mean against the median, so loosely).
GLMV_DECODE_PHASES=1 "$bench" --model "$model" --weights q4 --prefill , --decode-ctx 64 --decode-tokens 32 \
    --vision-mp , --video-frames 0 --ttft no --json "$out/phases.json" > "$out/phases.log" 2>&1 || { cat "$out/phases.log"; exit 1; }
/usr/bin/python3 - "$out/phases.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = ("norms", "qkv", "rope", "attention", "out_proj", "gate_up", "silu", "down", "head", "sampling")
missing = [n for n in names if not isinstance(r.get(f"decode_phase_ms_{n}_ctx64"), (int, float))]
if missing:
    sys.exit(f"decode phases missing: {missing}")
total, step = r["decode_phase_ms_total_ctx64"], r["decode_step_median_ms_ctx64"]
if abs(total - sum(r[f"decode_phase_ms_{n}_ctx64"] for n in names)) > 1e-9 or not 0.3 * step <= total <= 3 * step:
    sys.exit(f"decode phases add up to {total:.4f} ms per step against a median step of {step:.4f} ms")
print("decode phases", {n: round(r[f"decode_phase_ms_{n}_ctx64"], 4) for n in names}, "step", round(step, 4))
PY
echo "glmv-bench report complete for bf16, q8 and q4"
