import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startVllmSimulator, SIM_MARKER } from '../tools/vllm-sim/server.ts';
import { buildRequestBody, TASK_PROMPTS } from '../services/ocr/engines/vllm/deepseek.ts';
import { readVllmMetrics } from '../services/ocr/engines/vllm/metrics.ts';

const MODEL = 'deepseek-ai/DeepSeek-OCR';
const page = (width = 800, height = 1000, background = 'white') =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();

async function complete(url: string, body: unknown) {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) };
}

const ocrBody = (image: Buffer, maxTokens = 2000, prompt = TASK_PROMPTS.markdown) => buildRequestBody({ model: MODEL, image, prompt, maxTokens });

test('batching: with max-num-seqs 2, six concurrent requests show 4 waiting in /metrics', async (t) => {
  const sim = await startVllmSimulator({ maxNumSeqs: 2, prefillMs: 20, msPerToken: 2, tokensPerPage: 100 });
  t.after(() => sim.close());
  const img = await page();
  const all = Promise.all(Array.from({ length: 6 }, () => complete(sim.url, ocrBody(img))));
  let maxWaiting = 0;
  let maxRunning = 0;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && sim.stats().completed < 6) {
    const m = readVllmMetrics(await (await fetch(`${sim.url}/metrics`)).text())!;
    maxWaiting = Math.max(maxWaiting, m.waiting);
    maxRunning = Math.max(maxRunning, m.running);
    if (maxWaiting === 4) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const results = await all;
  assert.equal(maxWaiting, 4);
  assert.equal(maxRunning, 2);
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(sim.stats().maxRunning, 2);
  const m = readVllmMetrics(await (await fetch(`${sim.url}/metrics`)).text())!;
  assert.deepEqual([m.running, m.waiting], [0, 0]);
  assert.equal(m.generationTokens, 600);
});

test('continuous batching: throughput rises with concurrency', async (t) => {
  const sim = await startVllmSimulator({ maxNumSeqs: 8, prefillMs: 20, msPerToken: 1, tokensPerPage: 60 });
  t.after(() => sim.close());
  const img = await page();
  const run = async (concurrency: number, total: number) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < total) assert.equal((await complete(sim.url, ocrBody(img))).status, 200);
      }),
    );
    return total / ((performance.now() - started) / 1000);
  };
  const serial = await run(1, 8);
  const batched = await run(8, 8);
  assert.ok(batched > serial * 3, `pages/s: serial ${serial.toFixed(1)}, batched ${batched.toFixed(1)}`);
});

test('output: DeepSeek-OCR shaped, marked as simulated, and different per image', async (t) => {
  const sim = await startVllmSimulator({ prefillMs: 1, msPerToken: 0, tokensPerPage: 50 });
  t.after(() => sim.close());
  const a = (await complete(sim.url, ocrBody(await page(800, 1000)))).json();
  const b = (await complete(sim.url, ocrBody(await page(600, 900, 'black')))).json();
  const ta: string = a.choices[0].message.content;
  const tb: string = b.choices[0].message.content;
  assert.equal(a.choices[0].finish_reason, 'stop');
  assert.ok(ta.includes(SIM_MARKER) && tb.includes(SIM_MARKER));
  assert.match(ta, /<\|ref\|>title<\|\/ref\|><\|det\|>\[\[\d+, \d+, \d+, \d+\]\]<\|\/det\|>\n# /);
  assert.match(ta, /<table>.*<\/table>/);
  assert.match(ta, /<\|ref\|>image<\|\/ref\|>/);
  assert.match(ta, /<\|ref\|>image_caption<\|\/ref\|>/);
  assert.match(ta, /800x1000/);
  assert.match(tb, /600x900/);
  assert.notEqual(ta, tb);
  // 800×1000 is tiled 2×3: 903 vision tokens plus the text, as for a real portrait page.
  assert.ok(a.usage.prompt_tokens > 903 && a.usage.prompt_tokens < 950, String(a.usage.prompt_tokens));
  const free = (await complete(sim.url, ocrBody(await page(), 2000, TASK_PROMPTS.free))).json();
  assert.doesNotMatch(free.choices[0].message.content, /<\|ref\|>/);
});

test('validation as vLLM does it: model name, image part, context length', async (t) => {
  const sim = await startVllmSimulator({ prefillMs: 1, msPerToken: 0 });
  t.after(() => sim.close());
  const img = await page();
  const wrongModel = await complete(sim.url, { ...ocrBody(img), model: 'gpt-4o' });
  assert.equal(wrongModel.status, 404);
  assert.match(wrongModel.json().error.message, /does not exist/);
  const noImage = await complete(sim.url, { model: MODEL, messages: [{ role: 'user', content: 'Free OCR.' }] });
  assert.equal(noImage.status, 400);
  const tooLong = await complete(sim.url, ocrBody(img, 7400));
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.json().error.message, /maximum context length is 8192 tokens/);
  const notJson = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
  assert.equal(notJson.status, 400);
  assert.equal((await fetch(`${sim.url}/v1/models`).then((r) => r.json())).data[0].id, MODEL);
  assert.equal((await fetch(`${sim.url}/health`)).status, 200);
});

test('fault injection: next N, rates, down; settable at run time', async (t) => {
  const sim = await startVllmSimulator({ prefillMs: 1, msPerToken: 0, tokensPerPage: 20, faults: { next: ['500', '503', 'malformed', 'length'] } });
  t.after(() => sim.close());
  const img = await page();
  assert.equal((await complete(sim.url, ocrBody(img))).status, 500);
  assert.equal((await complete(sim.url, ocrBody(img))).status, 503);
  const malformed = await complete(sim.url, ocrBody(img));
  assert.equal(malformed.status, 200);
  assert.throws(() => malformed.json(), SyntaxError);
  const length = (await complete(sim.url, ocrBody(img, 300))).json();
  assert.equal(length.choices[0].finish_reason, 'length');
  assert.equal(length.usage.completion_tokens, 300);
  assert.equal((await complete(sim.url, ocrBody(img))).status, 200);

  sim.setFaults({ rates: { '503': 0.5 }, seed: 7 });
  const statuses = [];
  for (let i = 0; i < 40; i++) statuses.push((await complete(sim.url, ocrBody(img))).status);
  const failed = statuses.filter((s) => s === 503).length;
  assert.ok(failed > 8 && failed < 32, `${failed} of 40 failed`);

  sim.setFaults({ down: true });
  assert.equal((await fetch(`${sim.url}/health`)).status, 503);
  assert.equal((await complete(sim.url, ocrBody(img))).status, 500);
  sim.setFaults({});
  assert.equal((await fetch(`${sim.url}/health`)).status, 200);
  assert.equal(sim.stats().faults['500'], 1);
});

test('hang never answers, a client that gives up frees its slot, close() still returns', async (t) => {
  const sim = await startVllmSimulator({ maxNumSeqs: 1, prefillMs: 1, msPerToken: 0, faults: { next: ['hang'] } });
  t.after(() => sim.close());
  const img = await page();
  const hung = fetch(`${sim.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ocrBody(img)),
    signal: AbortSignal.timeout(200),
  });
  await assert.rejects(hung, /aborted|timeout/i);
  // A slow request abandoned by its client is aborted, as vLLM does, and the next one gets the slot.
  sim.setFaults({});
  const slow = await startVllmSimulator({ maxNumSeqs: 1, prefillMs: 1, msPerToken: 50, tokensPerPage: 1000 });
  t.after(() => slow.close());
  const abandoned = fetch(`${slow.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ocrBody(img)), signal: AbortSignal.timeout(100) });
  await assert.rejects(abandoned);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(slow.stats().running, 0);
  assert.equal(slow.stats().finished.abort, 1);
});

test('/v1/models names the served model and its context length, as vLLM does', async (t) => {
  const sim = await startVllmSimulator({ model: 'my-ocr', maxModelLen: 16_384 });
  t.after(() => sim.close());
  const body = await (await fetch(`${sim.url}/v1/models`)).json();
  assert.equal(body.data[0].id, 'my-ocr');
  assert.equal(body.data[0].max_model_len, 16_384);
});

test('the OCR prompt is answered with the text inside the refs, as the real model does', async (t) => {
  const sim = await startVllmSimulator({ prefillMs: 1, msPerToken: 0, tokensPerPage: 50 });
  t.after(() => sim.close());
  const r = (await complete(sim.url, ocrBody(await page(), 2000, TASK_PROMPTS.ocr))).json();
  assert.match(
    r.choices[0].message.content,
    /^<\|ref\|>SIMULATED OUTPUT \(vllm-sim\): [^<]+<\|\/ref\|><\|det\|>\[\[62, 40, 938, 88\]\]<\|\/det\|>\n<\|ref\|>Image 800x1000/,
  );
});

test('plain profile: Markdown without grounding, still marked as simulated', async (t) => {
  const sim = await startVllmSimulator({ prefillMs: 1, msPerToken: 0, tokensPerPage: 50, profile: 'plain' });
  t.after(() => sim.close());
  const r = (await complete(sim.url, ocrBody(await page(), 2000, 'Convert this page to Markdown.'))).json();
  const text: string = r.choices[0].message.content;
  assert.ok(text.includes(SIM_MARKER));
  assert.doesNotMatch(text, /<\|ref\|>|<\|det\|>/);
  assert.match(text, /<table><tr><th>Property<\/th>/);
});

test('legacy error format and a /metrics without request counts, as older servers and proxies answer', async (t) => {
  const sim = await startVllmSimulator({ errorFormat: 'legacy', metrics: 'none' });
  t.after(() => sim.close());
  const r = await complete(sim.url, { ...ocrBody(await page()), model: 'nope' });
  assert.equal(r.status, 404);
  assert.deepEqual(Object.keys(r.json()).sort(), ['code', 'message', 'object', 'param', 'type']);
  assert.equal(r.json().object, 'error');
  assert.equal(readVllmMetrics(await (await fetch(`${sim.url}/metrics`)).text()), null);
  sim.setMetrics('vllm');
  assert.notEqual(readVllmMetrics(await (await fetch(`${sim.url}/metrics`)).text()), null);
});
