/**
 * Retry and fallback by policy (issue 18): a looping page is read again with the model profile's
 * loop mitigation, then by the next engine of the request's `fallback` order; the page record
 * says which engine answered and why; a page no engine could save ends the job partial with a code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FolioError, createMetrics } from '../shared/operations/index.ts';
import type { EngineOutput, OcrEngine, PageInput } from '../services/ocr/engine.ts';
import { readPage } from '../services/ocr/read-page.ts';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

/**
 * Pages of two sizes, so the simulator can loop on one: page 2 is 612×700 pt (1224×1400 px at
 * 144 dpi), page 1 the usual Letter (1224×1584). Same byte length, so the xref stays right.
 */
function pdfWithShortPage2(texts: [string, string]): Buffer {
  const pdf = makePdf(texts).toString('latin1');
  const first = pdf.indexOf('/MediaBox [0 0 612 792]');
  const second = pdf.indexOf('/MediaBox [0 0 612 792]', first + 1);
  return Buffer.from(pdf.slice(0, second) + '/MediaBox [0 0 612 700]' + pdf.slice(second + '/MediaBox [0 0 612 792]'.length), 'latin1');
}
const SHORT = { width: 1224, height: 1400 };
/** A small scan with real printed text (the PDFs' standard fonts are not embedded, so only the vision simulator 'reads' them): the top of english.png. */
const strip = () =>
  sharp(readFileSync(new URL('./fixtures/english.png', import.meta.url)))
    .extract({ left: 0, top: 0, width: 1241, height: 420 })
    .png()
    .toBuffer();
const STRIP = { width: 1241, height: 420 };

describe('fallback through the pipeline (vLLM simulator, CPU engine as fallback)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });
  const run = async (fields: Record<string, string>) => {
    const res = await upload(stack.url, '/v1/jobs', pdfWithShortPage2(['Quarterly report', 'Travel costs by region']), {
      filename: 'f.pdf',
      type: 'application/pdf',
      fields: { textLayer: 'never', cache: 'bypass', ...fields },
    });
    assert.equal(res.status, 202);
    return waitForTerminal(stack.url, (await res.json()).id, 120_000);
  };

  it('a page that loops even with the mitigation ends completed through the CPU engine, its record saying why', { timeout: 150_000 }, async () => {
    stack.sim!.setFaults({ loops: [{ ...STRIP, kind: 'repeat' }] });
    try {
      const res = await upload(stack.url, '/v1/jobs', await strip(), { filename: 'strip.png', type: 'image/png', fields: { fallback: 'vllm,cpu' } });
      const job = await waitForTerminal(stack.url, (await res.json()).id, 120_000);
      assert.equal(job.status, 'completed');
      const [p2] = job.pageDetails;
      assert.equal(p2.engine, 'cpu');
      assert.deepEqual(
        p2.attempts.map((a: { engine: string; outcome: string; mitigation?: string }) => [a.engine, a.outcome, a.mitigation]),
        [
          ['vllm', 'looping', undefined],
          ['vllm', 'looping', 'loop-mitigation'],
          ['cpu', 'ok', undefined],
        ],
      );
      assert.match(p2.attempts[0].message, /^repetition 0\.\d+$/);
      const doc = await (await fetch(`${stack.url}/v1/jobs/${job.id}/result?format=json`)).json();
      assert.equal(doc.pages[0].engine, 'cpu');
      assert.deepEqual(doc.pages[0].attempts, p2.attempts);
      assert.ok(doc.pages[0].markdown.length > 100, 'the CPU engine read the page');
      assert.ok(doc.pages[0].quality.confidence > 0.8, 'with its recogniser confidence');
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      assert.match(metrics, /folio_page_fallbacks_total\{engine="cpu",reason="looping"\} 1\n/);
      assert.match(metrics, /folio_page_retries_total\{engine="vllm",reason="looping"\} 2\n/);
    } finally {
      stack.sim!.setFaults({});
    }
  });

  it("a loop the profile's mitigation fixes stays with vLLM, retried with the official settings", { timeout: 150_000 }, async () => {
    stack.sim!.setFaults({ loops: [{ ...SHORT, kind: 'repeat', mitigable: true }] });
    try {
      const job = await run({ fallback: 'vllm,cpu' });
      assert.equal(job.status, 'completed');
      const p2 = job.pageDetails[1];
      assert.equal(p2.engine, 'vllm');
      assert.deepEqual(
        p2.attempts.map((a: { outcome: string; mitigation?: string }) => [a.outcome, a.mitigation]),
        [
          ['looping', undefined],
          ['ok', 'loop-mitigation'],
        ],
      );
    } finally {
      stack.sim!.setFaults({});
    }
  });

  it('a page no engine in the order can save fails with FOLIO_PAGE_LOOPING; the job ends partial', { timeout: 150_000 }, async () => {
    stack.sim!.setFaults({ loops: [{ ...SHORT, kind: 'repeat' }] });
    try {
      const job = await run({ fallback: 'vllm' });
      assert.equal(job.status, 'partial');
      assert.equal(job.pageDetails[0].engine, 'vllm');
      assert.equal(job.pageDetails[0].attempts, undefined, 'a page read at once has no tries to tell');
      assert.deepEqual(job.pages, { total: 2, done: 1, failed: 1 });
      assert.deepEqual(job.quality, { suspectPages: 0, suspect: [] });
      const p2 = job.pageDetails[1];
      assert.equal(p2.status, 'failed');
      assert.equal(p2.error.code, 'FOLIO_PAGE_LOOPING');
      assert.deepEqual(
        p2.attempts.map((a: { outcome: string }) => a.outcome),
        ['looping', 'looping'],
      );
    } finally {
      stack.sim!.setFaults({});
    }
  });
});

describe('read policy (engines faked)', () => {
  const input = async (): Promise<PageInput> => ({
    page: 1,
    image: await sharp({ create: { width: 60, height: 60, channels: 3, background: 'white' } })
      .png()
      .toBuffer(),
    width: 60,
    height: 60,
    task: 'markdown',
  });
  const answer = (engine: string, text: string): EngineOutput => ({
    engine,
    markdown: text,
    blocks: [{ type: 'text', bbox: [0, 0, 60, 60], text }],
    raw: text,
  });
  const fake = (name: string, steps: Array<EngineOutput | FolioError>): OcrEngine & { calls: unknown[] } => {
    const calls: unknown[] = [];
    return {
      name,
      calls,
      concurrency: () => 1,
      close: async () => {},
      recognize: async (_i, _s, options) => {
        calls.push(options?.mitigation ?? null);
        const next = steps.shift()!;
        if (next instanceof FolioError) throw next;
        return next;
      },
    };
  };
  const ref = (e: OcrEngine) => ({ name: e.name, get: async () => e });
  const deps = () => ({ metrics: createMetrics(new Registry()) });

  it('a page truncated by every engine fails FOLIO_PAGE_TRUNCATED, not retryable, with each try', async () => {
    const vllm = fake('vllm', [new FolioError('FOLIO_ENGINE_TRUNCATED'), new FolioError('FOLIO_ENGINE_TRUNCATED')]);
    const cpu = fake('cpu', [new FolioError('FOLIO_ENGINE_FAILED', 'worker crashed')]);
    await assert.rejects(readPage(deps(), [ref(vllm), ref(cpu)], await input(), new AbortController().signal), (e: unknown) => {
      assert.ok(e instanceof FolioError);
      assert.equal(e.code, 'FOLIO_PAGE_TRUNCATED');
      assert.equal(e.retryable, false);
      assert.deepEqual(
        (e.details!.attempts as Array<{ engine: string; outcome: string; code?: string }>).map((a) => [a.engine, a.outcome, a.code]),
        [
          ['vllm', 'truncated', 'FOLIO_ENGINE_TRUNCATED'],
          ['vllm', 'truncated', 'FOLIO_ENGINE_TRUNCATED'],
          ['cpu', 'error', 'FOLIO_ENGINE_FAILED'],
        ],
      );
      return true;
    });
    assert.deepEqual(vllm.calls, [null, 'loop']);
  });

  it('with one engine a truncation stays the engine error (retryable), and a backend outage is never fallen back from', async () => {
    const vllm = fake('vllm', [new FolioError('FOLIO_ENGINE_TRUNCATED'), new FolioError('FOLIO_ENGINE_TRUNCATED')]);
    await assert.rejects(
      readPage(deps(), [ref(vllm)], await input(), new AbortController().signal),
      (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_TRUNCATED' && e.retryable,
    );
    const down = fake('vllm', [new FolioError('FOLIO_ENGINE_UNAVAILABLE')]);
    const cpu = fake('cpu', [answer('cpu', 'never read')]);
    await assert.rejects(
      readPage(deps(), [ref(down), ref(cpu)], await input(), new AbortController().signal),
      (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_UNAVAILABLE',
    );
    assert.equal(cpu.calls.length, 0, 'pages wait for the backend (redelivery) rather than fall back on an outage');
  });

  it('a CPU answer with repeated lines is not a loop (a recogniser cannot loop)', async () => {
    const cpu = fake('cpu', [answer('cpu', '0.00 0.00 0.00 0.00 0.00 0.00\n'.repeat(20))]);
    const r = await readPage(deps(), [ref(cpu)], await input(), new AbortController().signal);
    assert.deepEqual(r.attempts, [{ engine: 'cpu', outcome: 'ok' }]);
    assert.ok(r.quality.repetition > 0.9);
    assert.equal(r.quality.reasons.includes('looping'), false);
  });
});

describe('the vLLM engine under the policy (simulator)', () => {
  it("a loop retry sends the profile's official settings; a page saved by the lighter prompt says it was truncated", { timeout: 60_000 }, async (t) => {
    const { startVllmSimulator } = await import('../tools/vllm-sim/server.ts');
    const { createVllmEngine } = await import('../services/ocr/engines/vllm/engine.ts');
    const sim = await startVllmSimulator({ prefillMs: 2, msPerToken: 0.05, tokensPerPage: 200 });
    const engine = await createVllmEngine({
      baseUrls: [sim.url],
      model: 'deepseek-ai/DeepSeek-OCR',
      apiKey: 'EMPTY',
      maxTokens: 6000,
      timeoutMs: 5000,
      maxWindow: 4,
      minWindow: 1,
      metricsIntervalMs: 0,
    });
    t.after(async () => {
      await engine.close();
      await sim.close();
    });
    const page: PageInput = {
      page: 1,
      image: await sharp({ create: { width: 800, height: 1000, channels: 3, background: 'white' } })
        .png()
        .toBuffer(),
      width: 800,
      height: 1000,
      task: 'markdown',
    };
    await engine.recognize(page, new AbortController().signal, { mitigation: 'loop' });
    const body = sim.stats().lastRequestBody as Record<string, unknown>;
    // DeepSeek-OCR keeps temperature 0 and its n-gram ban, with a repetition penalty on top.
    assert.equal(body.repetition_penalty, 1.1);
    assert.equal(body.temperature, 0);
    assert.ok(body.vllm_xargs, 'the n-gram ban stays');
    sim.setFaults({ next: ['length'] });
    const out = await engine.recognize(page, new AbortController().signal);
    assert.equal(out.truncated, true);
    assert.deepEqual(
      out.attempts?.map((a) => [a.engine, a.outcome, a.code]),
      [['vllm', 'truncated', 'FOLIO_ENGINE_TRUNCATED']],
    );
    const q = await readPage(
      { metrics: createMetrics(new Registry()) },
      [
        {
          name: 'vllm',
          get: async () => {
            sim.setFaults({ next: ['length'] });
            return engine;
          },
        },
      ],
      page,
      new AbortController().signal,
    );
    assert.equal(q.quality.truncated, true);
    assert.deepEqual(q.quality.reasons, ['truncated']);
    assert.deepEqual(
      q.attempts.map((a) => a.outcome),
      ['truncated', 'ok'],
    );
  });
});
