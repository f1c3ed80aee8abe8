import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { pino } from 'pino';
import sharp from 'sharp';
import { FolioError } from '../shared/operations/index.ts';
import type { EngineOutput, PageInput } from '../services/ocr/engine.ts';
import { createCpuEngine } from '../services/ocr/engines/cpu/engine.ts';
import { createWorkerPool } from '../services/ocr/engines/cpu/pool.ts';
import { spaceAfterPunctuation } from '../services/ocr/engines/cpu/recognize-page.ts';
import { cer, spacedCer, stripMarkdown } from './helpers/cer.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const truth = (name: string) => fixture(name).toString('utf8');
const signal = () => AbortSignal.timeout(120_000);

/** A fixture as the rasterizer hands it over: upright (EXIF applied) PNG. */
async function pageOf(name: string, page = 1): Promise<PageInput> {
  const { data, info } = await sharp(fixture(name)).rotate().png().toBuffer({ resolveWithObject: true });
  return { page, image: data, width: info.width, height: info.height, task: 'markdown' };
}

/** A 1×1 PNG whose header claims width × height: refused from the header, never decoded. */
async function pixelBomb(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  png.writeUInt32BE(width, 16); // IHDR data starts at byte 16: width, height, …
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29); // CRC over "IHDR" + its 13 data bytes
  return png;
}

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FolioError, `expected a FolioError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('CPU engine (PaddleOCR in worker threads)', () => {
  const logs: Array<{ msg: string }> = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (logs.push(JSON.parse(String(chunk))), cb()) }));
  // One engine for the file: workers load the models once (seconds), then serve every test.
  const engine = createCpuEngine({ workers: 2, log });
  const reads = new Map<string, Promise<{ input: PageInput; out: EngineOutput }>>();
  const read = (name: string) => {
    if (!reads.has(name))
      reads.set(
        name,
        pageOf(name).then(async (input) => ({ input, out: await engine.recognize(input, signal()) })),
      );
    return reads.get(name)!;
  };
  const samples: Array<[string, string]> = [
    ['english.png', 'english.gt.txt'],
    ['chinese.png', 'chinese.gt.txt'],
    ['english_scan.jpg', 'english.gt.txt'],
    ['chinese_scan.jpg', 'chinese.gt.txt'],
    ['english_exif6.jpg', 'english.gt.txt'],
  ];

  // Queue every sample at once so both workers stay busy while the tests below await theirs.
  before(() => samples.forEach(([name]) => void read(name).catch(() => {})));
  after(() => engine.close());

  for (const [name, gt] of samples.slice(0, 4)) {
    test(`reads ${name} with at most 2% character errors`, async (t) => {
      const { out } = await read(name);
      const rate = cer(stripMarkdown(out.markdown), truth(gt));
      // Scans' grey strokes once lost most word spaces ("steadygrowth"): keep them counted.
      const spaced = spacedCer(stripMarkdown(out.markdown), truth(gt));
      t.diagnostic(`CER ${(rate * 100).toFixed(2)}%, with word spaces ${(spaced * 100).toFixed(2)}%`);
      assert.ok(rate <= 0.02, `CER ${(rate * 100).toFixed(2)}%:\n${out.markdown}`);
      assert.ok(spaced <= 0.03, `with word spaces ${(spaced * 100).toFixed(2)}%:\n${out.markdown}`);
      assert.equal(out.engine, 'cpu');
    });
  }

  test('a page stored rotated with EXIF orientation 6 comes back upright with the same text', async (t) => {
    const { input, out } = await read('english_exif6.jpg');
    assert.ok(input.height > input.width, 'the rasterizer hands over the upright (portrait) page');
    const rate = cer(stripMarkdown(out.markdown), truth('english.gt.txt'));
    t.diagnostic(`CER ${(rate * 100).toFixed(2)}%`);
    assert.ok(rate <= 0.02, out.markdown);
    const title = out.blocks.find((b) => b.type === 'title');
    assert.equal(title?.text, 'Quarterly Operations Report');
    assert.ok(title.bbox[1] < input.height * 0.2 && title.bbox[0] < input.width * 0.2, `title at ${title.bbox}: not upright`);
  });

  test('a raw camera JPEG is made upright by the engine itself', async () => {
    const jpeg = fixture('english_exif6.jpg');
    const out = await engine.recognize({ page: 1, image: jpeg, width: 1241, height: 1754, task: 'markdown' }, signal());
    assert.ok(cer(stripMarkdown(out.markdown), truth('english.gt.txt')) <= 0.02, out.markdown);
  });

  test('a page scanned sideways or upside down (no EXIF) is read upright, boxes on the page as given', async () => {
    for (const angle of [90, 180]) {
      const { data, info } = await sharp(fixture('english.png')).rotate(angle).png().toBuffer({ resolveWithObject: true });
      const out = await engine.recognize({ page: 1, image: data, width: info.width, height: info.height, task: 'markdown' }, signal());
      assert.ok(cer(stripMarkdown(out.markdown), truth('english.gt.txt')) <= 0.02, `${angle}°:\n${out.markdown}`);
      assert.ok(out.markdown.startsWith('# Quarterly Operations Report'), out.markdown);
      // The upright page's top-left title lies along the right edge when turned 90° clockwise,
      // at the bottom right when turned 180°.
      const [x1, y1, x2, y2] = out.blocks[0].bbox;
      if (angle === 90) assert.ok(x1 > info.width * 0.8 && y1 < info.height * 0.2 && y2 - y1 > x2 - x1, `${out.blocks[0].bbox}`);
      else assert.ok(x1 > info.width * 0.3 && y1 > info.height * 0.8, `${out.blocks[0].bbox}`);
    }
  });

  test('the page comes back as heading, paragraph and pipe table, with boxes inside the page', async () => {
    const { input, out } = await read('english.png');
    assert.ok(out.markdown.startsWith('# Quarterly Operations Report\n\nThe third quarter'), out.markdown);
    assert.ok(out.markdown.includes('| Region | Revenue (USD) | Orders |\n| --- | --- | --- |\n| North America | 1,245,300 | 8,412 |'), out.markdown);
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['title', 'text', 'table'],
    );
    for (const b of out.blocks) {
      const [x1, y1, x2, y2] = b.bbox;
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= input.width && y2 <= input.height && x1 < x2 && y1 < y2, `${b.type} ${b.bbox}`);
      assert.ok(b.confidence !== undefined && b.confidence > 0.8);
    }
    const raw = JSON.parse(out.raw) as Array<{ text: string; bbox: number[] }>;
    assert.ok(raw.some((l) => l.text === '8,412'));
  });

  test('each worker loads the models once and is reused for every page', async () => {
    await Promise.all(samples.map(([name]) => read(name)));
    assert.equal(engine.name, 'cpu');
    assert.equal(engine.concurrency(), 2);
    assert.equal(logs.filter((l) => l.msg === 'cpu ocr worker ready').length, 2);
    assert.ok(engine.stats().pages >= samples.length + 1);
  });

  test('an undecodable or oversized image is rejected, not retried', async () => {
    const junk = { page: 1, image: Buffer.from('not an image at all'), width: 10, height: 10, task: 'markdown' as const };
    await rejectsWith(engine.recognize(junk, signal()), 'FOLIO_ENGINE_REJECTED');
    await rejectsWith(engine.recognize({ ...junk, image: await pixelBomb(20_000, 20_000) }, signal()), 'FOLIO_ENGINE_REJECTED');
  });

  test('an abort mid-page fails the page at once; the engine keeps working', async () => {
    const input = await pageOf('chinese.png');
    const started = Date.now();
    await rejectsWith(engine.recognize(input, AbortSignal.timeout(150)), 'FOLIO_ENGINE_TIMEOUT');
    assert.ok(Date.now() - started < 1000, 'rejected without waiting for the page');
    const out = await engine.recognize(input, signal());
    assert.ok(cer(stripMarkdown(out.markdown), truth('chinese.gt.txt')) <= 0.02);
    await rejectsWith(engine.recognize(input, AbortSignal.abort()), 'FOLIO_ENGINE_UNAVAILABLE');
  });

  // Last: terminating a thread inside onnxruntime would abort the whole process.
  test('closing while a page is read fails it, stops the workers cleanly, and refuses more', async () => {
    const input = await pageOf('english.png');
    const reading = rejectsWith(engine.recognize(input, signal()), 'FOLIO_ENGINE_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 300));
    await engine.close();
    await reading;
    assert.equal(engine.stats().workers, 0);
    await rejectsWith(engine.recognize(input, signal()), 'FOLIO_ENGINE_UNAVAILABLE');
  });
});

test('spaces the recogniser dropped after punctuation come back, only where English always has one', () => {
  const cases: Array<[string, string]> = [
    ['all regions.Revenue grew', 'all regions. Revenue grew'],
    ['the quarter,while costs', 'the quarter, while costs'],
    ['Note:see below', 'Note: see below'],
    ['e.g.Foo, 3.1 days, Node.js, U.S.A., A,B, 12:30, http://x.org', 'e.g.Foo, 3.1 days, Node.js, U.S.A., A,B, 12:30, http://x.org'],
    ['价税合计（大写）：壹仟', '价税合计（大写）：壹仟'],
  ];
  for (const [input, want] of cases) assert.equal(spaceAfterPunctuation(input), want);
});

describe('worker pool', () => {
  // Stand-in workers that crash, throw or hang on cue, so failures need no real model.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-pool-'));
  const entry = pathToFileURL(path.join(dir, 'fake-worker.mjs'));
  writeFileSync(
    entry,
    `import { parentPort, workerData } from 'node:worker_threads';
if (workerData.detSide < 0) throw new Error('models missing');
parentPort.postMessage({ type: 'ready', loadMs: 0 });
let current;
parentPort.on('message', (m) => {
  if (m.type === 'cancel') {
    if (current === 'hang') parentPort.postMessage({ type: 'cancelled', id: m.id });
    return;
  }
  const { job } = m;
  const cmd = (current = new TextDecoder().decode(job.image));
  if (cmd === 'crash') process.exit(3);
  if (cmd === 'throw') setTimeout(() => { throw new Error('boom'); });
  if (cmd === 'hang' || cmd === 'stubborn' || cmd === 'crash' || cmd === 'throw') return;
  setTimeout(() => parentPort.postMessage({ type: 'done', id: job.id, output: { engine: 'fake', markdown: cmd, blocks: [], raw: '' }, ms: 1, rss: 1 }), 20);
});
`,
  );
  after(() => rmSync(dir, { recursive: true, force: true }));
  const init = { threads: 1, detSide: 1280, recSide: 2048, maxPixels: 1e8 };
  const job = (cmd: string) => ({ image: Buffer.from(cmd), task: 'markdown' as const });

  test('a crashed worker fails its page with FOLIO_ENGINE_FAILED and is replaced', async () => {
    const pool = createWorkerPool({ size: 1, init, entry });
    try {
      await rejectsWith(pool.run(job('crash'), signal()), 'FOLIO_ENGINE_FAILED');
      await rejectsWith(pool.run(job('throw'), signal()), 'FOLIO_ENGINE_FAILED');
      assert.equal((await pool.run(job('ok'), signal())).markdown, 'ok');
      assert.equal(pool.stats().workers, 1);
    } finally {
      await pool.close();
    }
  });

  test('pages queue for a free worker and are served first come, first served', async () => {
    const pool = createWorkerPool({ size: 2, init, entry });
    try {
      const done: string[] = [];
      const all = ['a', 'b', 'c', 'd', 'e'].map((c) => pool.run(job(c), signal()).then((o) => done.push(o.markdown)));
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(pool.stats().queued + pool.stats().busy, 5);
      await Promise.all(all);
      assert.deepEqual(done.sort(), ['a', 'b', 'c', 'd', 'e']);
      assert.equal(pool.stats().pages, 5);
    } finally {
      await pool.close();
    }
  });

  test('a hung page times out, a queued page can be aborted, and the pool recovers', async () => {
    const pool = createWorkerPool({ size: 1, init, entry });
    try {
      const ctl = new AbortController();
      const hung = pool.run(job('hang'), AbortSignal.timeout(100));
      const queued = pool.run(job('never'), ctl.signal);
      ctl.abort();
      await rejectsWith(queued, 'FOLIO_ENGINE_UNAVAILABLE');
      await rejectsWith(hung, 'FOLIO_ENGINE_TIMEOUT');
      assert.equal((await pool.run(job('after'), signal())).markdown, 'after');
    } finally {
      await pool.close();
    }
  });

  test('a worker that ignores a cancel is terminated and replaced', async () => {
    const pool = createWorkerPool({ size: 1, init, entry, stuckMs: 100 });
    try {
      await rejectsWith(pool.run(job('stubborn'), AbortSignal.timeout(50)), 'FOLIO_ENGINE_TIMEOUT');
      assert.equal((await pool.run(job('next'), signal())).markdown, 'next');
    } finally {
      await pool.close();
    }
  });

  test('workers that cannot load their models fail waiting pages as unavailable, without respawning in a loop', async () => {
    const pool = createWorkerPool({ size: 2, init: { ...init, detSide: -1 }, entry });
    try {
      await rejectsWith(pool.run(job('x'), signal()), 'FOLIO_ENGINE_UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(pool.stats().workers, 0);
    } finally {
      await pool.close();
    }
  });

  test('close fails queued pages and later calls', async () => {
    const pool = createWorkerPool({ size: 1, init, entry });
    const busy = rejectsWith(pool.run(job('hang'), signal()), 'FOLIO_ENGINE_UNAVAILABLE');
    const queued = rejectsWith(pool.run(job('q'), signal()), 'FOLIO_ENGINE_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 50));
    await pool.close();
    await Promise.all([busy, queued]);
    await rejectsWith(pool.run(job('late'), signal()), 'FOLIO_ENGINE_UNAVAILABLE');
  });
});
