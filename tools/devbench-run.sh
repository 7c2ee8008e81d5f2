#!/bin/bash
# The standard benchmark run on the GPU machine's 16-core CPU, packed by tools/make-devkit.sh: the M4 model and
# the full-size 9B (random weights, written here), q4 and q8 decode at context 512, then the 9B's decode by phase
# and its prefill of 512 tokens and 1 MP image. With glmv-bench-old in the kit, each measurement runs on both
# binaries back to back. Results, one line each, in $OUT/results.txt; each step has its own timeout and the later
# ones are skipped once the call nears the 10-minute limit.
cd "$(dirname "$0")" || exit 1
mkdir -p /tmp/libs
export LD_LIBRARY_PATH=$PWD:/tmp/libs
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('libdnnl.so.2.xz'), open('/tmp/libs/libdnnl.so.2','wb'))"
R=${OUT:-/tmp}/results.txt
T0=$(date +%s)
before() { [ $(($(date +%s) - T0)) -lt "$1" ]; }
binaries="glmv-bench"
[ -x glmv-bench-old ] && binaries="glmv-bench-old glmv-bench"
lscpu | grep -E 'Model name|L3|^CPU\(s\)' >>"$R"
decode_line() { python3 -c "
import json, sys
d = json.load(open('/tmp/r.json'))
phases = ' '.join('%s=%.2f' % (k[16:-7], v) for k, v in d.items() if k.startswith('decode_phase_ms_'))
print(sys.argv[1], 'tok/s %.2f fraction %.3f probe %.1f GB/s load %.0f ms rss/budget %.3f' % (d['decode_tokens_per_s'],
      d['decode_roofline_fraction'], d['decode_bandwidth_gbs_ctx512'], d['load_ms'], d['peak_rss_fraction_of_budget']), phases)
" "$1" >>"$R"; }
decode="--prefill , --decode-ctx 512 --decode-tokens 32 --vision-mp , --video-frames 0 --ttft no"
s=$(date +%s)
./glmv-bench make-checkpoint --config m4.json --out /tmp/M4 >/dev/null 2>&1
echo "M4 checkpoint $(($(date +%s) - s)) s" >>"$R"
for w in q4 q8; do for b in $binaries; do
    rm -f /tmp/r.json
    timeout 60 ./$b --model /tmp/M4 --weights $w $decode --json /tmp/r.json >/dev/null 2>&1 && decode_line "M4 $w $b"
done; done
s=$(date +%s)
timeout 180 ./glmv-bench make-checkpoint --config full.json --out /tmp/9B >/dev/null 2>&1
echo "9B checkpoint $(($(date +%s) - s)) s (rc $?)" >>"$R"
for w in q4 q8; do for b in $binaries; do
    before 330 || break 2
    rm -f /tmp/r.json
    timeout 60 ./$b --model /tmp/9B --weights $w $decode --json /tmp/r.json >/dev/null 2>&1 && decode_line "9B $w $b"
done; done
if before 340; then
    rm -f /tmp/r.json
    GLMV_DECODE_PHASES=1 timeout 60 ./glmv-bench --model /tmp/9B --weights q4 $decode --json /tmp/r.json >/dev/null 2>&1 &&
        decode_line "9B q4 by phase"
fi
if before 360; then
    rm -f /tmp/r.json
    timeout 70 ./glmv-bench --model /tmp/9B --weights q4 --prefill 512 --decode-ctx , --vision-mp 1 --video-frames 0 \
        --ttft no --json /tmp/r.json >/dev/null 2>&1 && python3 -c "
import json
d = json.load(open('/tmp/r.json'))
print('9B q4 prefill/vision', {k: round(v, 3) for k, v in d.items() if ('prefill' in k or 'vision' in k) and isinstance(v, float)})
" >>"$R"
fi
echo "done at $(($(date +%s) - T0)) s" >>"$R"
