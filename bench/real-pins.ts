// The real pages pinned in test/fixtures/real read through the CPU engine: CER (whitespace
// ignored), WER and the olmOCR-style unit tests passed, per page and pooled. test/real-pages.test.ts
// holds them to test/fixtures/real/pins.json two-sided; `node --import tsx bench/real-pins.ts`
// re-measures and rewrites that file (after an engine change that moves them, on purpose).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { OcrEngine } from '../services/ocr/engine.ts';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { scoreTests } from './olmocr-rules.ts';
import { realPageTests } from './real-pages.ts';
import { realPages } from './real-eval.ts';

export const PINNED_DIR = fileURLToPath(new URL('../test/fixtures/real/', import.meta.url));
export const PINS_FILE = path.join(PINNED_DIR, 'pins.json');

export interface Figures {
  cer: number;
  wer: number;
  testsPassed: number;
  tests: number;
}
export interface Pins {
  measuredAt: string;
  pages: Record<string, Figures>;
  pooled: Figures;
}

const pct = (a: number, b: number) => Math.round((a / b) * 10000) / 100;

export async function measurePinned(engine: OcrEngine): Promise<Pins> {
  const tests = realPageTests();
  const pages: Record<string, Figures> = {};
  const tot = { chars: 0, charEdits: 0, words: 0, wordEdits: 0, passed: 0, tests: 0 };
  for (const p of realPages(PINNED_DIR)) {
    const { data, info } = await sharp(readFileSync(p.file)).rotate().png().toBuffer({ resolveWithObject: true });
    const md = (await engine.recognize({ page: 1, image: data, width: info.width, height: info.height, task: 'markdown' }, AbortSignal.timeout(600_000)))
      .markdown;
    const c = editCounts(stripMarkdown(md), p.truth);
    const own = tests.filter((t) => t.page === p.name.replace(/-scan$/, '')).map((t) => ({ ...t, page: p.name }));
    const s = scoreTests(own, { [p.name]: md });
    pages[p.name] = { cer: pct(c.charEdits, c.chars), wer: pct(c.wordEdits, c.words), testsPassed: s.passed, tests: s.total };
    tot.chars += c.chars;
    tot.charEdits += c.charEdits;
    tot.words += c.words;
    tot.wordEdits += c.wordEdits;
    tot.passed += s.passed;
    tot.tests += s.total;
  }
  return {
    measuredAt: new Date().toISOString(),
    pages,
    pooled: { cer: pct(tot.charEdits, tot.chars), wer: pct(tot.wordEdits, tot.words), testsPassed: tot.passed, tests: tot.tests },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { createCpuEngine } = await import('../services/ocr/engines/cpu/engine.ts');
  const engine = createCpuEngine({ workers: 1 });
  try {
    const pins = await measurePinned(engine);
    writeFileSync(PINS_FILE, JSON.stringify(pins, null, 2) + '\n');
    console.log(JSON.stringify(pins, null, 2));
  } finally {
    await engine.close();
  }
}
