import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import sharp from 'sharp';
import { FolioError } from '../shared/operations/index.ts';
import type { PageInput } from '../services/ocr/engine.ts';
import { createVllmEngine, type VllmEngineOptions } from '../services/ocr/engines/vllm/engine.ts';
import { startVllmSimulator, SIM_MARKER, type VllmSimulatorOptions } from '../tools/vllm-sim/server.ts';

const MODEL = 'deepseek-ai/DeepSeek-OCR';
const FAST: VllmSimulatorOptions = { prefillMs: 2, msPerToken: 0.05, tokensPerPage: 200 };

async function pageInput(width = 800, height = 1000, page = 1, background = 'white'): Promise<PageInput> {
  const image = await sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
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
  t.after(() => s.close());
  const engine = await engineFor([s.url], over);
  t.after(() => engine.close());
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
  assert.deepEqual(types, ['title', 'text', 'text', 'sub_title', 'table', 'table_caption', 'equation', 'image', 'image_caption']);
  // The simulator writes the table before its caption, as the model does: each keeps its own content.
  assert.match(out.blocks[4].text, /^Property\tValue\tValue\nProperty\tpixels\tnote\nwidth\t800\tsimulated/);
  assert.match(out.blocks[5].text, /^Table 1: simulated measurements/);
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

  const ocrOut = await engine.recognize({ ...input, task: 'ocr' }, signal());
  const ocr = sim.stats().lastRequestBody as { messages: Array<{ content: Array<{ text?: string }> }> };
  assert.equal(ocr.messages[0].content[1].text, '<|grounding|>OCR this image.');
  // The OCR prompt's answer carries its text inside the refs: it must come back, with boxes.
  assert.ok(ocrOut.markdown.startsWith(SIM_MARKER), ocrOut.markdown);
  assert.deepEqual(
    ocrOut.blocks.map((b) => b.type),
    ['text', 'text'],
  );
  assert.match(ocrOut.blocks[1].text, /^Image 800x1000 px/);
});

test('a square page (3×3 tiles, ≈1,200 vision tokens) gets max_tokens lowered to fit the context, not a 400', async (t) => {
  const { sim, engine } = await setup(t, {}, { maxTokens: 7200 });
  const out = await engine.recognize(await pageInput(2000, 2000), signal());
  assert.ok(out.markdown.includes(SIM_MARKER));
  const body = sim.stats().lastRequestBody as { max_tokens: number };
  assert.ok(body.max_tokens < 7200 && body.max_tokens > 6800, String(body.max_tokens));
  assert.equal(sim.stats().statuses['400'], undefined);
});

test('the prompt-size guard counts a portrait page as vLLM does (903–933 vision tokens + the text)', async () => {
  // 8192 − 7250 = 942: room for the vision tokens but not for the text and template as well.
  await assert.rejects(engineFor([await deadUrl()], { maxTokens: 7250 }), /exceed the 8192-token context/);
  const ok = await engineFor([await deadUrl()], { maxTokens: 7200 });
  await ok.close();
});

test("HTTP 400 (an image vLLM cannot load) → FOLIO_ENGINE_REJECTED with vLLM's message, not retryable", async (t) => {
  const { sim, engine } = await setup(t);
  const bad = { ...(await pageInput()), image: Buffer.from('not an image') };
  await assert.rejects(engine.recognize(bad, signal()), (err: unknown) => {
    assert.ok(err instanceof FolioError);
    assert.equal(err.code, 'FOLIO_ENGINE_REJECTED');
    assert.equal(err.retryable, false);
    assert.match(err.message, /Failed to load image/);
    return true;
  });
  assert.equal(sim.stats().statuses['400'], 1);
  // A rejection says nothing about the backend's health.
  assert.equal(engine.backends()[0].healthy, true);
});

test('older vLLM\'s error format ({"object": "error", "message"}) keeps its text', async (t) => {
  const { engine } = await setup(t, { errorFormat: 'legacy' });
  const bad = { ...(await pageInput()), image: Buffer.from('not an image') };
  await assert.rejects(engine.recognize(bad, signal()), (err: unknown) => {
    assert.ok(err instanceof FolioError);
    assert.equal(err.code, 'FOLIO_ENGINE_REJECTED');
    assert.match(err.message, /^vLLM answered 400: .*Failed to load image/);
    assert.doesNotMatch(err.message, /no body/);
    return true;
  });
});

test('a wrong model name fails start-up (checked on /v1/models), naming what the server serves', async (t) => {
  const s = await startVllmSimulator({ ...FAST, model: 'other-model' });
  t.after(() => s.close());
  await assert.rejects(engineFor([s.url]), /does not serve model "deepseek-ai\/DeepSeek-OCR" \(it serves: other-model\)/);
  assert.equal(s.stats().received, 0, 'no page was tried');
});

test('the start-up check has a deadline: a backend that never answers starts out of rotation', async (t) => {
  // A socket that accepts and never answers.
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((sock) => void sockets.add(sock));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const sock of sockets) sock.destroy();
    return new Promise<void>((r) => silent.close(() => r()));
  });
  const sim = await startVllmSimulator(FAST);
  t.after(() => sim.close());
  const started = performance.now();
  const engine = await engineFor([`http://127.0.0.1:${(silent.address() as { port: number }).port}`, sim.url], { startupCheckMs: 300, cooldownMs: 60_000 });
  t.after(() => engine.close());
  assert.ok(performance.now() - started < 5000);
  assert.deepEqual(
    engine.backends().map((b) => b.healthy),
    [false, true],
  );
});

test('503 (overloaded) → FOLIO_ENGINE_UNAVAILABLE, retryable; the backend stays in rotation with a smaller window', async (t) => {
  const { engine } = await setup(t, { faults: { next: ['503'] } });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(engine.backends()[0].healthy, true);
  const out = await engine.recognize(await pageInput(), signal());
  assert.ok(out.markdown.includes(SIM_MARKER));
});

test('one page answered 500 while /health is fine fails that page (retryable) and leaves the backend in', async (t) => {
  const a = await startVllmSimulator({ ...FAST, faults: { next: ['500'] } });
  const b = await startVllmSimulator(FAST);
  const engine = await engineFor([a.url, b.url], { initialWindow: 4 });
  t.after(async () => {
    await engine.close();
    await a.close();
    await b.close();
  });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_FAILED', true);
  // The page was not tried on the other backend: it goes back to the pipeline, which retries it later.
  assert.equal(a.stats().received + b.stats().received, 1);
  assert.deepEqual(
    engine.backends().map((x) => x.healthy),
    [true, true],
  );
  assert.ok(engine.concurrency() > 0);
});

test('different pages failing with 500 in a row take the backend out; the same page retried does not', async (t) => {
  const { sim, engine } = await setup(t, { faults: { rates: { '500': 1 } } }, { maxPageFailures: 3 });
  const page1 = await pageInput(800, 1000, 1);
  for (let i = 0; i < 4; i++) await rejectsWith(engine.recognize(page1, signal()), 'FOLIO_ENGINE_FAILED', true);
  assert.equal(engine.backends()[0].healthy, true, 'one page, four attempts: still one page');
  await rejectsWith(engine.recognize(await pageInput(800, 1000, 2, 'black'), signal()), 'FOLIO_ENGINE_FAILED', true);
  await rejectsWith(engine.recognize(await pageInput(800, 1000, 3, 'gray'), signal()), 'FOLIO_ENGINE_FAILED', true);
  assert.equal(engine.backends()[0].healthy, false);
  assert.equal(sim.stats().received, 6);
});

test('500 with /health failing (engine dead) → FOLIO_ENGINE_UNAVAILABLE; the backend is taken out, offers no capacity, and is probed back in', async (t) => {
  const { sim, engine } = await setup(t);
  sim.setFaults({ down: true });
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(engine.backends()[0].healthy, false);
  assert.equal(engine.concurrency(), 0, 'the ocr service pulls no page while every backend is out');
  // While it is out, pages fail fast instead of piling onto a sick server.
  await rejectsWith(engine.recognize(await pageInput(), signal()), 'FOLIO_ENGINE_UNAVAILABLE', true);
  assert.equal(sim.stats().received, 1);
  sim.setFaults({});
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
  const engine = await engineFor([dead, sim.url], { cooldownMs: 60_000 });
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
  const engine = await engineFor([await deadUrl(), sim.url], { metricsIntervalMs: 20, cooldownMs: 60_000 });
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
  const engine = await engineFor([a.url, b.url], { cooldownMs: 50 });
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
  const engine = await engineFor([a.url, b.url], { initialWindow: 4, maxWindow: 4 });
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

/**
 * Keeps `engine` fed as the OCR service does: a new page whenever the pages in flight are fewer
 * than the engine's window (its concurrency), for `ms`.
 */
async function feed(engine: Awaited<ReturnType<typeof engineFor>>, ms: number, workers = 64) {
  const image = await pageInput();
  const until = Date.now() + ms;
  let inFlight = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until) {
        if (inFlight >= engine.concurrency()) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        inFlight++;
        try {
          await engine.recognize(image, signal());
        } finally {
          inFlight--;
        }
      }
    }),
  );
}

test("vLLM's gauges size the window: two unequal backends each settle on their batch limit + 1 and run full", async (t) => {
  const big = await startVllmSimulator({ ...FAST, msPerToken: 0.5, maxNumSeqs: 12 });
  const small = await startVllmSimulator({ ...FAST, msPerToken: 0.5, maxNumSeqs: 3 });
  const engine = await engineFor([big.url, small.url], { maxWindow: 32, metricsIntervalMs: 20 });
  t.after(async () => {
    await engine.close();
    await big.close();
    await small.close();
  });
  await feed(engine, 1500);
  assert.deepEqual(
    engine.backends().map((b) => b.window),
    [13, 4],
  );
  assert.equal(big.stats().maxRunning, 12);
  assert.equal(small.stats().maxRunning, 3);
});

test('a /metrics without request counts (older vLLM, a proxy) does not stop polling: it resumes when they appear', async (t) => {
  const { sim, engine } = await setup(
    t,
    { metrics: 'none', maxNumSeqs: 2, msPerToken: 1, tokensPerPage: 200 },
    { initialWindow: 16, maxWindow: 16, metricsIntervalMs: 10 },
  );
  await waitFor(() => sim.stats().metricsScrapes >= 3, 3000);
  sim.setMetrics('vllm');
  const before = sim.stats().metricsScrapes;
  // Polls back off while unusable (10, 20, 40 … ms, at most a minute) but keep coming.
  await waitFor(() => sim.stats().metricsScrapes > before, 5000);
  // And they are used again: vLLM queueing shrinks the window.
  await Promise.all(Array.from({ length: 16 }, async () => engine.recognize(await pageInput(), signal())));
  assert.ok(engine.concurrency() < 16, `window still ${engine.concurrency()}`);
});

test('the plain profile: a generic prompt, no DeepSeek-only fields, Markdown parsed into typed blocks', async (t) => {
  const { sim, engine } = await setup(
    t,
    { profile: 'plain', model: 'allenai/olmOCR-7B-0825', maxModelLen: 32_768 },
    { model: 'allenai/olmOCR-7B-0825', profiles: ['plain'] },
  );
  const out = await engine.recognize(await pageInput(800, 1000, 2), signal());
  const body = sim.stats().lastRequestBody as Record<string, unknown> & { messages: Array<{ content: Array<{ text?: string }> }> };
  assert.match(body.messages[0].content[1].text!, /^Convert this document page to Markdown/);
  assert.equal(body.vllm_xargs, undefined);
  assert.equal(body.skip_special_tokens, undefined);
  assert.ok(out.markdown.includes(SIM_MARKER));
  assert.deepEqual(
    out.blocks.map((b) => b.type),
    ['title', 'text', 'text', 'sub_title', 'table', 'equation'],
  );
  assert.equal(out.blocks[4].text, 'Property\tValue\nwidth\t800\nheight\t1000');
  // No positions from such models: every box is the whole page.
  assert.ok(out.blocks.every((b) => b.bbox.join() === '0,0,800,1000'));
  assert.deepEqual(engine.backends()[0].profile, 'plain');
});

test('profiles per backend: a DeepSeek-OCR backend and a plain one side by side', async (t) => {
  const a = await startVllmSimulator(FAST);
  const b = await startVllmSimulator({ ...FAST, profile: 'plain', model: 'plain-ocr', maxModelLen: 32_768 });
  const engine = await engineFor([a.url, b.url], { models: [MODEL, 'plain-ocr'], profiles: ['deepseek-ocr', 'plain'], initialWindow: 1, maxWindow: 1 });
  t.after(async () => {
    await engine.close();
    await a.close();
    await b.close();
  });
  const outs = await Promise.all([1, 2].map(async (n) => engine.recognize(await pageInput(800, 1000, n), signal())));
  assert.equal(a.stats().completed, 1);
  assert.equal(b.stats().completed, 1);
  assert.ok(outs.every((o) => o.markdown.includes(SIM_MARKER)));
});

async function waitFor(cond: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
