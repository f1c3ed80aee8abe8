import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createWorkerPool } from '../services/ocr/engines/cpu/pool.ts';

const signal = () => AbortSignal.timeout(120_000);
const init = { threads: 1, detSide: 960, recSide: 2048, maxPixels: 1e8 };

describe('CPU engine worker recycling', () => {
  // A stand-in worker: answers each page with its own text and thread id after a short delay,
  // reports RSS = 1000 × the pages it has read, and exits on 'retire' (after a pause, like a
  // release of native sessions). Anything it is sent after 'retire' would be lost: the test
  // then misses an answer.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-recycle-'));
  const entry = pathToFileURL(path.join(dir, 'recycling-worker.mjs'));
  writeFileSync(
    entry,
    `import { parentPort, threadId } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready', loadMs: 0 });
let read = 0;
let retired = false;
parentPort.on('message', (m) => {
  if (m.type === 'retire') {
    retired = true;
    setTimeout(() => process.exit(0), 30);
    return;
  }
  if (m.type !== 'page') return;
  if (retired) throw new Error('page sent to a retired worker');
  const text = new TextDecoder().decode(m.job.image);
  setTimeout(() => {
    read++;
    parentPort.postMessage({ type: 'done', id: m.job.id, output: { engine: 'fake', markdown: text + '@' + threadId, blocks: [], raw: '' }, ms: 1, rss: 1000 * read });
  }, 10);
});
`,
  );
  after(() => rmSync(dir, { recursive: true, force: true }));
  const job = (text: string) => ({ image: Buffer.from(text), task: 'markdown' as const });

  /** Sends `n` pages at once (most queue behind the busy workers); returns text → thread ids that answered. */
  async function readAll(pool: ReturnType<typeof createWorkerPool>, n: number) {
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => pool.run(job(`p${i}`), signal())));
    const byThread = new Map<string, string[]>();
    for (const a of answers) {
      const [text, thread] = a.markdown.split('@');
      byThread.set(thread, [...(byThread.get(thread) ?? []), text]);
    }
    return { answers: answers.map((a) => a.markdown.split('@')[0]), byThread };
  }

  test('after recyclePages pages a worker is retired and replaced; queued pages are all answered, each once', async () => {
    const pool = createWorkerPool({ size: 2, init, entry, recyclePages: 3 });
    try {
      const { answers, byThread } = await readAll(pool, 20);
      assert.deepEqual(
        answers,
        Array.from({ length: 20 }, (_, i) => `p${i}`),
      );
      for (const [thread, pages] of byThread) assert.ok(pages.length <= 3, `worker ${thread} read ${pages.length} pages`);
      assert.ok(byThread.size >= 7, `20 pages at ≤ 3 a worker need ≥ 7 workers, saw ${byThread.size}`);
      const stats = pool.stats();
      assert.equal(stats.pages, 20);
      assert.equal(stats.recycled, byThread.size - [...byThread.values()].filter((p) => p.length < 3).length);
      assert.ok(stats.recycled >= 6);
      assert.equal(stats.workers, 2);
      assert.equal(stats.queued + stats.busy, 0);
      // The pool keeps serving after the churn.
      assert.equal((await pool.run(job('later'), signal())).markdown.split('@')[0], 'later');
    } finally {
      await pool.close();
    }
  });

  test('above recycleRssBytes one worker at a time is recycled, and none without it', async () => {
    const pool = createWorkerPool({ size: 2, init, entry, recycleRssBytes: 2500 });
    try {
      const { answers, byThread } = await readAll(pool, 40);
      assert.equal(answers.length, 40);
      assert.ok(pool.stats().recycled >= 2, `recycled ${pool.stats().recycled}`);
      assert.ok(byThread.size >= 3);
    } finally {
      await pool.close();
    }
    const never = createWorkerPool({ size: 2, init, entry });
    try {
      const { byThread } = await readAll(never, 12);
      assert.equal(byThread.size, 2);
      assert.equal(never.stats().recycled, 0);
    } finally {
      await never.close();
    }
  });

  test('close while a retired worker is still exiting waits for it and fails nothing already answered', async () => {
    const pool = createWorkerPool({ size: 1, init, entry, recyclePages: 1 });
    const first = await pool.run(job('a'), signal());
    assert.equal(first.markdown.split('@')[0], 'a');
    await pool.close(); // the retired worker exits 30 ms after 'retire': close must not hang or throw
    assert.equal(pool.stats().recycled, 1);
  });

  test('the real worker releases its models and exits when retired, and its replacement reads the next page', { timeout: 300_000 }, async () => {
    const png = await sharp(readFileSync(new URL('./fixtures/english.png', import.meta.url)))
      .png()
      .toBuffer({ resolveWithObject: true });
    const page = () => ({ image: png.data, width: png.info.width, height: png.info.height, task: 'markdown' as const });
    const pool = createWorkerPool({ size: 1, init, recyclePages: 1 });
    try {
      const a = await pool.run(page(), signal());
      const b = await pool.run(page(), signal());
      assert.ok(a.markdown.length > 100);
      assert.equal(b.markdown, a.markdown);
      const stats = pool.stats();
      assert.equal(stats.recycled, 2);
      assert.equal(stats.pages, 2);
      assert.equal(stats.workers, 1);
    } finally {
      await pool.close();
    }
  });
});
