import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import sharp from 'sharp';
import { FolioError } from '../shared/errors.ts';
import type { PageInput } from '../services/ocr/engine.ts';
import { createVllmEngine, type VllmEngineOptions } from '../services/ocr/engines/vllm/engine.ts';
import { startVllmSimulator, SIM_MARKER, type VllmSimulatorOptions } from '../tools/vllm-sim/server.ts';

const MODEL = 'deepseek-ai/DeepSeek-OCR';
const FAST: VllmSimulatorOptions = { prefillMs: 2, msPerToken: 0.05, tokensPerPage: 200 };

async function pageInput(width = 800, height = 1000, page = 1, background = 'white'): Promise<PageInput> {
  const image = await sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
  return { page, image, width, height, task: 'markdown' };
}

function engineFor(baseUrls: string[], over: Partial<VllmEngineOptions> = {}) {
  return createVllmEngine({
    baseUrls,
    model: MODEL,
    apiKey: 'EMPTY',
    maxTokens: 6000,
    timeoutMs: 5000,
    maxWindow: 8,
    minWindow: 1,
    metricsIntervalMs: 0,
    cooldownMs: 100,
    ...over,
  });
}

async function setup(t: { after: (fn: () => unknown) => void }, sim: VllmSimulatorOptions = {}, over: Partial<VllmEngineOptions> = {}) {
  const s = await startVllmSimulator({ ...FAST, ...sim });
  const engine = engineFor([s.url], over);
  t.after(async () => {
    await engine.close();
    await s.close();
  });
  return { sim: s, engine };
}

const signal = () => new AbortController().signal;

async function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FolioError, `not a FolioError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, retryable);
    return true;
  });
}

/** A port with nothing listening: connections are refused. */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

test('a page comes back with Markdown and blocks in page pixels', async (t) => {
  const { engine } = await setup(t);
  const out = await engine.recognize(await pageInput(800, 1000, 4), signal());
  assert.equal(out.engine, 'vllm');
  assert.equal(engine.name, 'vllm');
  assert.match(out.markdown, /^# Simulated page [0-9a-f]{16}/);
  assert.ok(out.markdown.includes(SIM_MARKER));
  assert.ok(out.markdown.includes('![](images/4_0.jpg)'));
  assert.ok(out.markdown.includes('A := 800'), 'LaTeX clean-up applied');
  assert.doesNotMatch(out.markdown, /<\|ref\|>|<\|det\|>/);
  assert.match(out.raw, /<\|ref\|>title<\|\/ref\|>/);
  const types = out.blocks.map((b) => b.type);
  assert.deepEqual(types, ['title', 'text', 'text', 'sub_title', 'table', 'equation', 'image', 'image_caption']);
  const image = out.blocks.find((b) => b.type === 'image')!;
  // [100, 480, 600, 800] in 0–999 bins of an 800×1000 page
  assert.deepEqual(image.bbox, [80, 480, 480, 801]);
  const other = await engine.recognize(await pageInput(600, 900, 5, 'black'), signal());
  assert.notEqual(other.markdown, out.markdown);
});

test('the request follows the DeepSeek-OCR protocol', async (t) => {
  const { sim, engine } = await setup(t);
  const input = await pageInput();
  await engine.recognize(input, signal());
  const body = sim.stats().lastRequestBody as Record<string, unknown>;
  assert.deepEqual(body.messages, [
    {
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: `data:image/png;base64,${input.image.toString('base64')}` } },
        { type: 'text', text: '<|grounding|>Convert the document to markdown.' },
      ],
    },
  ]);
  assert.equal(body.model, MODEL);
  assert.equal(body.temperature, 0);
  assert.equal(body.max_tokens, 6000);
  assert.equal(body.skip_special_tokens, false);
  assert.deepEqual(body.vllm_xargs, { ngram_size: 30, window_size: 90, whitelist_token_ids: [128821, 128822] });
  assert.equal(body.stream, undefined);

  await engine.recognize({ ...input, task: 'ocr' }, signal());
  const ocr = sim.stats().lastRequestBody as { messages: Array<{ content: Array<{ text?: string }> }> };
  assert.equal(ocr.messages[0].content[1].text, '<|grounding|>OCR this image.');
});

test('HTTP 400 (context overflow) → FOLIO_ENGINE_REJECTED, not retryable', async (t) => {
  // A large square page is tiled 3×3 (1203 vision tokens): with 7000 max tokens it no longer fits 8192.
  const { sim, engine } = await setup(t, {}, { maxTokens: 7000 });
  await rejectsWith(engine.recognize(await pageInput(2000, 2000), signal()), 'FOLIO_ENGINE_REJECTED', false);
  assert.equal(sim.stats().statuses['400'], 1);
  // A rejection says nothing about the backend's health.
  assert.equal(engine.backends()[0].healthy, true);
});

test('unknown model (404) → FOLIO_ENGINE_REJECTED', async (t) => {
  const s = await startVllmSimulator({ ...FAST, model: 'other-model' });
  const engine = engineFor([s.url]);
  t.after(async () => {
    await engine.close();
    await s.close();
  });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_REJECTED', false);
});

test('503 (overloaded) → FOLIO_ENGINE_UNAVAILABLE, retryable; the backend stays in rotation with a smaller window', async (t) => {
  const { engine } = await setup(t, { faults: { next: ['503'] } });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(engine.backends()[0].healthy, true);
  const out = await engine.recognize(await pageInput(), signal());
  assert.ok(out.markdown.includes(SIM_MARKER));
});

test('500 (engine dead) → FOLIO_ENGINE_UNAVAILABLE; the backend is taken out, offers no capacity, and is probed back in', async (t) => {
  const { sim, engine } = await setup(t, { faults: { next: ['500'] } });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(engine.backends()[0].healthy, false);
  assert.equal(engine.concurrency(), 0, 'the ocr service pulls no page while every backend is out');
  // While it is out, pages fail fast instead of piling onto a sick server.
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(sim.stats().received, 1);
  await waitFor(() => engine.backends()[0].healthy, 2000);
  const out = await engine.recognize(await pageInput(), signal());
  assert.ok(out.markdown.includes(SIM_MARKER));
});

test('finish_reason length → retried once with "Free OCR."', async (t) => {
  const { sim, engine } = await setup(t, { faults: { next: ['length'] } });
  const out = await engine.recognize(await pageInput(), signal());
  const body = sim.stats().lastRequestBody as { messages: Array<{ content: Array<{ text?: string }> }> };
  assert.equal(body.messages[0].content[1].text, 'Free OCR.');
  assert.equal(sim.stats().received, 2);
  assert.ok(out.markdown.includes(SIM_MARKER));
  assert.deepEqual(out.blocks, [], 'Free OCR. has no layout boxes');
});

test('finish_reason length twice → FOLIO_ENGINE_TRUNCATED', async (t) => {
  const { sim, engine } = await setup(t, { faults: { next: ['length', 'length'] } });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_TRUNCATED', true);
  assert.equal(sim.stats().received, 2);
  assert.equal(engine.backends()[0].healthy, true);
});

test('a page already asked with "Free OCR." is not retried with the same prompt', async (t) => {
  const { sim, engine } = await setup(t, { faults: { next: ['length'] } });
  await rejectsWith(engine.recognize({ ...(await pageInput()), task: 'free' }, signal()), 'FOLIO_ENGINE_TRUNCATED', true);
  assert.equal(sim.stats().received, 1);
});

test('a hung request → FOLIO_ENGINE_TIMEOUT within timeoutMs', async (t) => {
  const { engine } = await setup(t, { faults: { next: ['hang'] } }, { timeoutMs: 300 });
  const started = performance.now();
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_TIMEOUT', true);
  const ms = performance.now() - started;
  assert.ok(ms >= 290 && ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test('malformed JSON → FOLIO_ENGINE_MALFORMED', async (t) => {
  const { engine } = await setup(t, { faults: { next: ['malformed'] } });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_MALFORMED', true);
});

test('the caller aborting is reported but does not take the backend out', async (t) => {
  const { engine } = await setup(t, { msPerToken: 5, tokensPerPage: 1000 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(engine.recognize(await pageInput(), ac.signal), (e: unknown) => e instanceof FolioError);
  assert.equal(engine.backends()[0].healthy, true);
  const cancelled = new FolioError('FOLIO_JOB_CANCELLED');
  const ac2 = new AbortController();
  ac2.abort(cancelled);
  await assert.rejects(engine.recognize(await pageInput(), ac2.signal), (e: unknown) => e === cancelled);
});

test('two backends, one refusing connections → every page goes to the healthy one', async (t) => {
  const sim = await startVllmSimulator(FAST);
  const dead = await deadUrl();
  const engine = engineFor([dead, sim.url], { cooldownMs: 60_000 });
  t.after(async () => {
    await engine.close();
    await sim.close();
  });
  const pages = await Promise.all(Array.from({ length: 6 }, async (_, i) => engine.recognize(await pageInput(800, 1000, i + 1), signal())));
  assert.equal(pages.length, 6);
  assert.equal(sim.stats().completed, 6);
  const [down, up] = engine.backends();
  assert.equal(down.healthy, false);
  assert.equal(up.healthy, true);
  assert.equal(engine.concurrency(), up.window);
});

test('the /metrics poller notices a backend that refuses connections before any page does', async (t) => {
  const sim = await startVllmSimulator(FAST);
  const engine = engineFor([await deadUrl(), sim.url], { metricsIntervalMs: 20, cooldownMs: 60_000 });
  t.after(async () => {
    await engine.close();
    await sim.close();
  });
  await waitFor(() => !engine.backends()[0].healthy, 2000);
  assert.equal(engine.backends()[1].healthy, true);
});

test('two backends, one with a dead engine (500) → pages fail over to the other', async (t) => {
  const a = await startVllmSimulator({ ...FAST, faults: { down: true } });
  const b = await startVllmSimulator(FAST);
  const engine = engineFor([a.url, b.url], { cooldownMs: 50 });
  t.after(async () => {
    await engine.close();
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 4; i++) await engine.recognize(await pageInput(), signal());
  assert.equal(b.stats().completed, 4);
  assert.equal(a.stats().completed, 0);
  // Healed: the prober sees /health 200 again and the backend rejoins the rotation.
  a.setFaults({});
  await waitFor(() => engine.backends()[0].healthy, 3000);
  // Its window restarts small, so it gets pages once the other's window is full.
  await Promise.all(Array.from({ length: 10 }, async () => engine.recognize(await pageInput(), signal())));
  assert.ok(a.stats().completed > 0);
});

test('routing prefers the backend with the most free window', async (t) => {
  const a = await startVllmSimulator({ ...FAST, msPerToken: 1 });
  const b = await startVllmSimulator({ ...FAST, msPerToken: 1 });
  const engine = engineFor([a.url, b.url], { initialWindow: 4, maxWindow: 4 });
  t.after(async () => {
    await engine.close();
    await a.close();
    await b.close();
  });
  assert.equal(engine.concurrency(), 8);
  await Promise.all(Array.from({ length: 8 }, async () => engine.recognize(await pageInput(), signal())));
  assert.equal(a.stats().maxRunning, 4);
  assert.equal(b.stats().maxRunning, 4);
});

test('the /metrics poller shrinks the window when vLLM queues', async (t) => {
  const { engine } = await setup(t, { maxNumSeqs: 2, msPerToken: 1, tokensPerPage: 200 }, { initialWindow: 16, maxWindow: 16, metricsIntervalMs: 10 });
  assert.equal(engine.concurrency(), 16);
  await Promise.all(Array.from({ length: 16 }, async () => engine.recognize(await pageInput(), signal())));
  assert.ok(engine.concurrency() < 16, `window still ${engine.concurrency()}`);
});

async function waitFor(cond: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
