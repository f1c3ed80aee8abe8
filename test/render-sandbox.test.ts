// Rendering runs in renderer processes: a hostile page costs that page (and a process), never
// the document or the service. Each test renders real PDFs built to hurt pdf.js.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isFailedRender, renderPages, type RenderOptions, type RenderOutcome, type RenderSource } from '../services/rasterizer/rasterize.ts';
import { createRenderers } from '../services/rasterizer/renderers.ts';
import { createSourceProber, type HostPool } from '../shared/render/index.ts';
import { hostilePdf } from './helpers/hostile-pdf.ts';
import { refuses } from './helpers/refuses.ts';

const PDF = 'application/pdf';
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const base: RenderOptions = { dpi: 72, maxLongSide: 2000, maxInputPixels: 100e6, maxPages: 100, openTimeoutMs: 60_000, pageTimeoutMs: 60_000 };
const pools: HostPool[] = [];
const pool = (memoryMb = 2048) => {
  const p = createRenderers({ size: 1, memoryMb });
  pools.push(p);
  return p;
};
after(() => Promise.all(pools.map((p) => p.close())));
// One renderer pool for the tests that do not need their own memory cap: a pool survives its losses.
const renderers = pool();

async function outcomes(renderers: HostPool, source: RenderSource, opts: Partial<RenderOptions> = {}): Promise<string[]> {
  const out: RenderOutcome[] = [];
  for await (const o of renderPages(renderers, source, PDF, { ...base, ...opts })) out.push(o);
  return out.map((o) => (isFailedRender(o) ? `${o.page}:${o.error.code}` : `${o.page}`));
}

const text = (t: string) => ({ kind: 'text' as const, text: t });

test('a page that stalls the renderer past its deadline fails with FOLIO_RENDER_TIMEOUT; the pages after it render', async () => {
  // ~200k stroked segments: many seconds of pdf.js work, from a 40 KB file.
  const pdf = hostilePdf([text('one'), { kind: 'operator-bomb', ops: 200_000 }, text('three'), text('four')]);
  const t0 = performance.now();
  assert.deepEqual(await outcomes(renderers, { data: pdf }, { pageTimeoutMs: 1500 }), ['1', '2:FOLIO_RENDER_TIMEOUT', '3', '4']);
  assert.ok(performance.now() - t0 < 30_000, 'the stalled page was abandoned, not waited for');
});

test('a page that blows the memory cap kills only its renderer: FOLIO_RENDER_CRASHED, the rest render', async () => {
  const pdf = hostilePdf([text('one'), { kind: 'operator-bomb', ops: 1_500_000 }, text('three')]);
  // Loaded modules take ~450 MB under tsx; the bomb needs well over a GB.
  const renderers = pool(800);
  assert.deepEqual(await outcomes(renderers, { data: pdf }), ['1', '2:FOLIO_RENDER_CRASHED', '3']);
});

test('a renderer that dies on a page (test fault "exit") loses that page only, and the next document renders normally', async () => {
  const doc = { path: fixture('doc10.pdf') };
  assert.deepEqual(await outcomes(renderers, doc, { pages: '1-4', testFault: 'rasterizer:3:exit' }), ['1', '2', '3:FOLIO_RENDER_CRASHED', '4']);
  assert.deepEqual(await outcomes(renderers, doc, { pages: '1-2' }), ['1', '2']);
});

test('a renderer that hangs on a page (test fault "hang") is killed at the deadline', async () => {
  assert.deepEqual(await outcomes(renderers, { path: fixture('doc10.pdf') }, { pages: '1-3', testFault: 'rasterizer:2:hang', pageTimeoutMs: 1000 }), [
    '1',
    '2:FOLIO_RENDER_TIMEOUT',
    '3',
  ]);
});

test('resuming skips done pages and still counts them', async () => {
  const out: Array<[number, number]> = [];
  for await (const o of renderPages(renderers, { path: fixture('doc10.pdf') }, PDF, { ...base, skip: (p) => p <= 8 })) out.push([o.page, o.count]);
  assert.deepEqual(out, [
    [9, 10],
    [10, 10],
  ]);
});

test('a document that cannot be opened in time fails as a whole with FOLIO_RENDER_TIMEOUT', async () => {
  await refuses(outcomes(renderers, { path: fixture('scan10.pdf') }, { openTimeoutMs: 1 }), 'FOLIO_RENDER_TIMEOUT');
});

test('pdf.js never loads in this process: JSON and Array.push stay native after rendering and probing', async () => {
  await outcomes(renderers, { data: readFileSync(fixture('doc10.pdf')) }, { pages: '1' });
  const prober = createSourceProber({ workers: 1, memoryMb: 2048, timeoutMs: 60_000 });
  try {
    assert.deepEqual(await prober.probe(fixture('doc10.pdf'), PDF, { maxPages: 100, maxInputPixels: 100e6 }), { pageCount: 10 });
  } finally {
    await prober.close();
  }
  const native = (f: unknown) => Function.prototype.toString.call(f).includes('[native code]');
  assert.ok(native(JSON.stringify), 'JSON.stringify was replaced');
  assert.ok(native(JSON.parse), 'JSON.parse was replaced');
  assert.ok(native(Array.prototype.push), 'Array.prototype.push was replaced');
});
