// A real OpenAI client (the `openai` npm package) against glmv-server on loopback.
// usage: node client_test.mjs PORT API_KEY IMAGE.png
import OpenAI from "openai";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

const [port, apiKey, imagePath] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: 0, timeout: 120000 });
const image = `data:image/png;base64,${readFileSync(imagePath).toString("base64")}`;
const messages = [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: "What is in this image?" }] }];

const models = await client.models.list();
assert.ok(models.data.length === 1 && models.data[0].id, "one model listed");

// Non-streamed chat with an image.
const r = await client.chat.completions.create({ model: models.data[0].id, messages, max_tokens: 12, temperature: 0 });
assert.equal(r.object, "chat.completion");
assert.equal(r.choices[0].message.role, "assistant");
assert.equal(typeof r.choices[0].message.content, "string");
assert.ok(r.usage.prompt_tokens > 20, "the image tokens are counted");
assert.equal(r.usage.completion_tokens, 12);
assert.equal(r.choices[0].finish_reason, "length");

// Streamed: same prompt, greedy, must give the same text.
const stream = await client.chat.completions.create({ model: models.data[0].id, messages, max_tokens: 12, temperature: 0, stream: true });
let text = "", reasoning = "", chunks = 0, finish = null;
for await (const c of stream) {
  chunks++;
  const d = c.choices[0].delta;
  if (d.content) text += d.content;
  if (d.reasoning_content) reasoning += d.reasoning_content;
  if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
}
assert.ok(chunks >= 3, "several chunks");
assert.equal(finish, "length");
assert.equal(text, r.choices[0].message.content, "streamed and non-streamed greedy answers agree");
assert.equal(reasoning, r.choices[0].message.reasoning_content ?? "");

// Twenty concurrent clients are all answered.
const many = await Promise.all(Array.from({ length: 20 }, (_, i) =>
  client.chat.completions.create({ model: "any", messages: [{ role: "user", content: `Count to ${i}` }], max_tokens: 3, seed: i })));
assert.equal(many.length, 20);
for (const m of many) assert.equal(m.usage.completion_tokens, 3);

// A wrong key is refused in OpenAI's error shape.
const bad = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "wrong", maxRetries: 0 });
await assert.rejects(bad.models.list(), (e) => e.status === 401 && /API key/.test(e.message));
console.log("openai client: ok");
