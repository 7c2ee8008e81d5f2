#!/usr/bin/env bash
# glmv-server end to end: a small random-weight GLM-4.1V checkpoint with the real tokenizer, a real OpenAI client
# (node + the openai package), and raw HTTP for malformed input, oversized bodies, bad media, wrong keys,
# a client that disconnects mid-stream and concurrency.
# Also the remote backend of glmv-cli: its answer through the server equals the embedded engine's.
# usage: test_server.sh GLMV_BENCH GLMV_SERVER SHARED_DIR GLMV_CLI
set -euo pipefail
BENCH=$1 SERVER=$2 SHARED=$3 CLI=$4
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/cfg"
cp "$SHARED"/glm4v-assets/{tokenizer.json,tokenizer_config.json,preprocessor_config.json,video_preprocessor_config.json} "$TMP/cfg/"
# The real config, shrunk: same vocabulary and special ids, tiny layers.
node -e '
const fs = require("fs");
const c = JSON.parse(fs.readFileSync(process.argv[1]));
Object.assign(c, {hidden_size: 128, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2});
Object.assign(c.vision_config, {hidden_size: 64, depth: 2, num_heads: 4, intermediate_size: 96, out_hidden_size: 128});
c.rope_scaling.mrope_section = [2, 3, 3];
fs.writeFileSync(process.argv[2], JSON.stringify(c));' "$SHARED/glm4v-assets/config.json" "$TMP/cfg/config.json"
"$BENCH" make-checkpoint --config "$TMP/cfg/config.json" --out "$TMP/model" 2>/dev/null
PORT=$((20000 + RANDOM % 20000))
"$SERVER" --model "$TMP/model" --port $PORT --api-key sekret --max-body-mb 8 > "$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf -H "Authorization: Bearer sekret" "http://127.0.0.1:$PORT/v1/models" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/v1/chat/completions"
AUTH=(-H "Authorization: Bearer sekret" -H "Content-Type: application/json")
expect() { # expect STATUS PATTERN curl-args…
    local want=$1 pattern=$2; shift 2
    local out code
    out=$(curl -s -w '\n%{http_code}' "$@")
    code=${out##*$'\n'}
    [ "$code" = "$want" ] || { echo "expected HTTP $want, got $code: $out"; exit 1; }
    grep -q "$pattern" <<<"$out" || { echo "expected /$pattern/ in: $out"; exit 1; }
}
expect 400 '"error"' "${AUTH[@]}" "$URL" -d '{"messages": [ {"role": "user", "content": "x"'
expect 400 'messages' "${AUTH[@]}" "$URL" -d '{"messages": []}'
expect 400 'temperature' "${AUTH[@]}" "$URL" -d '{"messages":[{"role":"user","content":"x"}],"temperature":7}'
expect 400 'base64' "${AUTH[@]}" "$URL" -d '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!!"}}]}]}'
expect 400 'error' "${AUTH[@]}" "$URL" -d '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,aGVsbG8gd29ybGQ="}}]}]}'
expect 400 'offline' "${AUTH[@]}" "$URL" -d '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}'
expect 400 'disabled' "${AUTH[@]}" "$URL" -d '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}'
expect 401 'API key' -H "Content-Type: application/json" "$URL" -d '{"messages":[{"role":"user","content":"x"}]}'
head -c 9000000 /dev/zero | tr '\0' 'a' > "$TMP/big.json"
expect 413 'too large' "${AUTH[@]}" "$URL" --data-binary @"$TMP/big.json"
# A client that disconnects mid-stream: the server cancels its job and keeps serving.
curl -sN --max-time 1 "${AUTH[@]}" "$URL" -d '{"stream":true,"max_tokens":100000,"messages":[{"role":"user","content":"go on forever"}]}' >/dev/null || true
expect 200 'chat.completion' "${AUTH[@]}" --max-time 30 "$URL" -d '{"max_tokens":2,"messages":[{"role":"user","content":"still there?"}]}'
# The same for a non-streamed request.
curl -s --max-time 1 "${AUTH[@]}" "$URL" -d '{"max_tokens":100000,"messages":[{"role":"user","content":"go on forever"}]}' >/dev/null || true
expect 200 'chat.completion' "${AUTH[@]}" --max-time 30 "$URL" -d '{"max_tokens":2,"messages":[{"role":"user","content":"and now?"}]}'
# glmv-cli's remote backend against this server gives what the embedded engine gives (greedy).
IMG="$SHARED/fixtures/glm4v-tiny/images/small.png"
remote=$("$CLI" chat --remote-url "http://127.0.0.1:$PORT/v1" --api-key sekret --image "$IMG" --greedy --max-new-tokens 10 --json "Describe it." | tail -1)
local_=$("$CLI" chat --model "$TMP/model" --image "$IMG" --greedy --max-new-tokens 10 --json "Describe it." 2>/dev/null | tail -1)
node -e 'const [a, b] = process.argv.slice(1).map(JSON.parse); if (a.answer !== b.answer || a.completion_tokens !== 10) { console.error("remote", a, "local", b); process.exit(1); }' "$remote" "$local_"
node "$HERE/client_test.mjs" $PORT sekret "$SHARED/fixtures/glm4v-tiny/images/small.png"
kill -0 $PID # never crashed
echo "server: ok"
