/**
 * Quality signals (issue 18): confidence from token log-probabilities or the recogniser, a
 * repetition score, a truncation flag and a suspect flag, in document.json, the Markdown's front
 * matter (frontMatter=quality), the job status and /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { assessPage, blocksWithTokenConfidence, inkShare, repetitionScore, tokenConfidence } from '../services/ocr/quality.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const prose =
  'The committee met on the fourth of March to review the budget.\nMembers asked for a breakdown of travel costs by region.\nThe chair agreed to circulate the figures before the next session.\n';
const blank = (w: number, h: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: 'white' } })
    .png()
    .toBuffer();
/** A page whose middle third is black: ink without text, as a page a model skipped. */
const inked = (w: number, h: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: 'white' } })
    .composite([{ input: { create: { width: w, height: Math.round(h / 3), channels: 3, background: 'black' } }, top: Math.round(h / 3), left: 0 }])
    .png()
    .toBuffer();

describe('repetition score', () => {
  it('is near 0 for prose and near 1 for a line said over and over', () => {
    assert.ok(repetitionScore(prose) < 0.05, String(repetitionScore(prose)));
    const loop = 'Revenue by region\n' + 'Total operating expenses for the year\n'.repeat(40);
    assert.ok(repetitionScore(loop) > 0.9, String(repetitionScore(loop)));
  });
  it('sees a loop inside one long line (no newlines), and short repeated cells are not one', () => {
    const inline = 'the quick brown fox jumps over the lazy dog '.repeat(30);
    assert.ok(repetitionScore(inline) > 0.9);
    const table = ['Item\tQty\tPrice', 'Apples\t3\t1.20', 'Pears\t3\t1.20', 'Plums\t3\t1.20', 'Figs\t12\t4.00'].join('\n');
    assert.ok(repetitionScore(table) < 0.2, String(repetitionScore(table)));
  });
});

describe('confidence from token log-probabilities', () => {
  it('is the geometric mean probability, and the least likely token is reported', () => {
    const c = tokenConfidence([
      { token: 'a', logprob: Math.log(0.9) },
      { token: 'b', logprob: Math.log(0.4) },
    ]);
    assert.deepEqual(c, { mean: 0.6, min: 0.4 });
  });
  it('gives each block the tokens that wrote it; a block not found verbatim gets the page value', () => {
    const raw = 'Title here\nbody text';
    const tokens = [
      { token: 'Title', logprob: Math.log(0.99) },
      { token: ' here', logprob: Math.log(0.99) },
      { token: '\nbody', logprob: Math.log(0.25) },
      { token: ' text', logprob: Math.log(0.25) },
    ];
    const blocks = blocksWithTokenConfidence(
      [
        { type: 'title', bbox: [0, 0, 1, 1], text: 'Title here' },
        { type: 'text', bbox: [0, 0, 1, 1], text: 'body text' },
        { type: 'table', bbox: [0, 0, 1, 1], text: 'a\tb' },
      ],
      raw,
      tokens,
    );
    assert.equal(blocks[0].confidence, 0.99);
    assert.equal(blocks[1].confidence, 0.25);
    assert.equal(blocks[2].confidence, 0.497, 'the page geometric mean');
  });
});

describe('suspect pages', () => {
  it('a blank page is not suspect; much ink and little text is', async () => {
    assert.equal(await inkShare(await blank(200, 300), 200, 300, []), 0);
    const ink = await inkShare(await inked(300, 300), 300, 300, []);
    assert.ok(ink > 0.3 && ink < 0.37, String(ink));
    const q = await assessPage({
      markdown: 'x',
      blocks: [{ type: 'text', bbox: [0, 0, 10, 10], text: 'x' }],
      image: await inked(300, 300),
      width: 300,
      height: 300,
      generative: true,
    });
    assert.deepEqual(q.reasons, ['little-text']);
    assert.equal(q.suspect, true);
  });
  it('a real page read in full is not suspect; the same page answered with a few words is (little-text)', async () => {
    // english.png: 1.7% ink (printed text, measured at 1000 px on the long side, darker than grey 160) and 455 characters of
    // truth; the floor is 20 characters per 1% of ink, so 34 here. (On the 25 real pages of the shared sample set every true
    // text stayed 5–45x above its floor.)
    const image = readFileSync(new URL('./fixtures/english.png', import.meta.url));
    const truth = readFileSync(new URL('./fixtures/english.gt.txt', import.meta.url), 'utf8');
    const page = { image, width: 1241, height: 1754, generative: true };
    const full = await assessPage({ ...page, markdown: truth, blocks: [{ type: 'text', bbox: [0, 0, 1241, 1754], text: truth }] });
    assert.ok(full.ink > 0.014 && full.ink < 0.02, String(full.ink));
    assert.equal(full.suspect, false);
    const few = await assessPage({ ...page, markdown: 'Simulated page', blocks: [{ type: 'text', bbox: [0, 0, 1241, 1754], text: 'Simulated page' }] });
    assert.deepEqual(few.reasons, ['little-text']);
  });
  it('ink inside a figure block does not ask for text', async () => {
    const q = await assessPage({
      markdown: '',
      blocks: [{ type: 'image', bbox: [0, 90, 300, 210], text: '![](f.jpg)' }],
      image: await inked(300, 300),
      width: 300,
      height: 300,
      generative: true,
    });
    assert.ok(q.ink < 0.01, String(q.ink));
    assert.equal(q.suspect, false);
  });
  it('a looping answer is suspect only from a generative engine; a truncated answer is flagged', async () => {
    const loop = 'Total operating expenses for the year\n'.repeat(30);
    const args = { markdown: loop, blocks: [], image: await blank(100, 100), width: 100, height: 100 };
    assert.deepEqual((await assessPage({ ...args, generative: true, truncated: true })).reasons, ['looping', 'truncated']);
    assert.deepEqual((await assessPage({ ...args, generative: false })).reasons, []);
  });
});

describe('quality signals through the pipeline (vLLM simulator with logprobs)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });

  it('document.json, front matter, job status and /metrics carry them; a low-confidence page is counted suspect', { timeout: 240_000 }, async () => {
    const pdf = makePdf(['first page', 'second page']);
    const res = await upload(stack.url, '/v1/jobs', pdf, {
      filename: 'q.pdf',
      type: 'application/pdf',
      fields: { textLayer: 'never', frontMatter: 'quality' },
    });
    const job = await waitForTerminal(stack.url, (await res.json()).id, 100_000);
    assert.equal(job.status, 'completed');
    assert.equal((stack.sim!.stats().lastRequestBody as { logprobs?: unknown }).logprobs, true, 'log-probabilities are asked for');
    // The simulator's tokens all have log-probability -0.02: p = exp(-0.02) = 0.980.
    assert.deepEqual(job.quality, { suspectPages: 0, suspect: [] });
    for (const d of job.pageDetails)
      assert.deepEqual(d.quality, { confidence: 0.98, repetition: d.quality.repetition, truncated: false, suspect: false, reasons: [] });
    const doc = await (await fetch(`${stack.url}/v1/jobs/${job.id}/result?format=json`)).json();
    assert.equal(doc.pages[0].quality.confidence, 0.98);
    assert.ok(doc.pages[0].quality.repetition < 0.2, String(doc.pages[0].quality.repetition));
    assert.ok(doc.pages[0].blocks.length > 0 && doc.pages[0].blocks.every((b: { confidence?: number }) => b.confidence === 0.98));
    const md = await (await fetch(`${stack.url}/v1/jobs/${job.id}/result?format=markdown`)).text();
    assert.match(
      md,
      /^---\nfolio_quality:\n {2}pages: 2\n {2}suspect_pages: \[\]\n {2}failed_pages: \[\]\n {2}page_quality:\n {4}- page: 1\n {6}status: done\n {6}engine: vllm\n {6}confidence: 0\.98\n/,
    );

    stack.sim!.setFaults({ logprob: -1.5 });
    try {
      const low = await waitForTerminal(
        stack.url,
        (
          await (
            await upload(stack.url, '/v1/jobs', makePdf(['unsure']), {
              filename: 'l.pdf',
              type: 'application/pdf',
              fields: { textLayer: 'never', cache: 'bypass' },
            })
          ).json()
        ).id,
        100_000,
      );
      assert.equal(low.status, 'completed', 'a suspect page is kept, and said to be suspect');
      assert.deepEqual(low.quality, { suspectPages: 1, suspect: [1] });
      assert.deepEqual(low.pageDetails[0].quality.reasons, ['low-confidence']);
      assert.equal(low.pageDetails[0].quality.confidence, 0.223);
      const lowMd = await (await fetch(`${stack.url}/v1/jobs/${low.id}/result?format=markdown`)).text();
      assert.doesNotMatch(lowMd, /^---\nfolio_quality/, 'front matter only when asked');
    } finally {
      stack.sim!.setFaults({});
    }
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    // Two pages at 0.98 and one at 0.223 (buckets are cumulative).
    assert.match(metrics, /folio_page_confidence_bucket\{le="0\.3",engine="vllm"\} 1\n/);
    assert.match(metrics, /folio_page_confidence_bucket\{le="0\.95",engine="vllm"\} 1\n/);
    assert.match(metrics, /folio_page_confidence_bucket\{le="0\.99",engine="vllm"\} 3\n/);
    assert.match(metrics, /folio_page_confidence_count\{engine="vllm"\} 3\n/);
    assert.match(metrics, /folio_pages_suspect_total\{engine="vllm",reason="low-confidence"\} 1\n/);
  });
});
