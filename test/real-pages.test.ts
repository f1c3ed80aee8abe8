// Real pages (test/fixtures/real: a three-column Federal Register page, a two-column notice with a
// table, dense statistical tables, a degraded two-column scan, a court filing scan) read through
// the CPU engine, held to the figures measured in pins.json both ways: CER or WER 15% (relative)
// worse fails as a regression, and 15% better fails too, so the pin is re-measured
// (`node --import tsx bench/real-pins.ts`) and the gain recorded. Olmocr-style tests passed
// (bench/real-pages-tests.json) are held the same way.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { EngineOutput, OcrEngine } from '../services/ocr/engine.ts';
import { createCpuEngine } from '../services/ocr/engines/cpu/engine.ts';
import { measurePinned, PINNED_DIR, PINS_FILE, type Figures, type Pins } from '../bench/real-pins.ts';
import { realPages } from '../bench/real-eval.ts';

/** Two-sided: within 15% of the pin, or 0.1 point for figures so small that one character is more. */
function near(measured: number, pinned: number, what: string) {
  const slack = Math.max(0.15 * pinned, 0.1);
  assert.ok(measured <= pinned + slack, `${what} ${measured} regressed from its pin ${pinned}`);
  assert.ok(measured >= pinned - slack, `${what} ${measured} improved on its pin ${pinned}: re-measure the pins (bench/real-pins.ts)`);
}

function nearFigures(got: Figures, pin: Figures, name: string) {
  near(got.cer, pin.cer, `${name} CER`);
  near(got.wer, pin.wer, `${name} WER`);
  assert.equal(got.tests, pin.tests, `${name}: the number of tests changed; re-measure the pins`);
  const slack = Math.max(1, Math.round(0.15 * pin.testsPassed));
  assert.ok(Math.abs(got.testsPassed - pin.testsPassed) <= slack, `${name}: ${got.testsPassed} of ${got.tests} tests pass, pinned ${pin.testsPassed}`);
}

describe('real pages through the CPU engine, against their pins', { timeout: 1_200_000 }, () => {
  const pins = JSON.parse(readFileSync(PINS_FILE, 'utf8')) as Pins;
  let engine: ReturnType<typeof createCpuEngine>;
  let measured: Pins;
  before(async () => {
    // Two workers of one thread each, every page queued at once: measurePinned asks for the pages
    // one by one, so it is handed an engine whose reads were all started here (the same image
    // bytes as it makes: upright PNG), and both cores read pages instead of one page's small line
    // crops sharing them. What it measures is unchanged: each page's own reading.
    engine = createCpuEngine({ workers: 2, threadsPerWorker: 1 });
    const key = (image: Buffer) => createHash('sha256').update(image).digest('hex');
    const started = new Map<string, Promise<EngineOutput>>();
    for (const p of realPages(PINNED_DIR)) {
      const { data, info } = await sharp(readFileSync(p.file)).rotate().png().toBuffer({ resolveWithObject: true });
      const reading = engine.recognize({ page: 1, image: data, width: info.width, height: info.height, task: 'markdown' }, AbortSignal.timeout(600_000));
      reading.catch(() => {});
      started.set(key(data), reading);
    }
    let hits = 0;
    const prefetched: OcrEngine = {
      ...engine,
      recognize: (input, signal) => {
        const reading = started.get(key(input.image));
        if (reading) hits++;
        return reading ?? engine.recognize(input, signal);
      },
    };
    measured = await measurePinned(prefetched);
    assert.equal(hits, started.size, 'every page measured is one of the readings started here');
  });
  after(() => engine.close());

  it('reads every pinned page', () => {
    assert.deepEqual(Object.keys(measured.pages).sort(), Object.keys(pins.pages).sort());
  });
  for (const name of Object.keys(pins.pages)) {
    it(`${name}: CER ${pins.pages[name].cer}%, WER ${pins.pages[name].wer}%, ${pins.pages[name].testsPassed}/${pins.pages[name].tests} tests, ±15%`, () => {
      nearFigures(measured.pages[name], pins.pages[name], name);
    });
  }
  it(`pooled: CER ${pins.pooled.cer}%, WER ${pins.pooled.wer}%, ${pins.pooled.testsPassed}/${pins.pooled.tests} tests, ±15%`, () => {
    nearFigures(measured.pooled, pins.pooled, 'pooled');
  });
});
