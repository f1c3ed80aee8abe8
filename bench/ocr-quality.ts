// OCR quality and speed of the embedded CPU engine against Tesseract 5 (Debian's package, when
// installed) on the same pages in the same run: the samples, the multi-column and book layouts
// and the degraded report pages of test/fixtures/ocr-bench (make-pages.ts). Measures CER
// (whitespace-blind), CER with word spaces, WER, reading-order figures (ordered CER against the
// order-blind bag error) and CPU-seconds per page and pages/s with one worker (engine) or one
// process (Tesseract) per core. Speed rounds alternate engine and Tesseract so load from other
// users of the machine falls on both; the ratios are what to read, not the absolute figures.
// Alone: `node --import tsx bench/ocr-quality.ts [rounds]` prints JSON.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { EngineOutput, PageInput } from '../services/ocr/engine.ts';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const BENCH = path.join(FIXTURES, 'ocr-bench');

export type Group = 'cleanEnglish' | 'degraded' | 'multiColumn' | 'chinese';

export interface QualityPage {
  name: string;
  file: string;
  truth: string;
  lang: 'eng' | 'chi_sim';
  groups: Group[];
}

/** Every page of the benchmark, with the groups its figures are pooled into. */
export function qualityPages(): QualityPage[] {
  const sample = (name: string, truth: string, lang: QualityPage['lang'], groups: Group[]): QualityPage => ({
    name,
    file: path.join(FIXTURES, name),
    truth: readFileSync(path.join(FIXTURES, truth), 'utf8'),
    lang,
    groups,
  });
  const manifest = JSON.parse(readFileSync(path.join(BENCH, 'manifest.json'), 'utf8')) as Array<{ image: string; truth: string; kind: string }>;
  const made = manifest.map((m): QualityPage => {
    const groups: Group[] = m.kind === 'layout' ? ['multiColumn'] : m.kind === 'clean' ? ['cleanEnglish'] : ['degraded'];
    return { name: m.image, file: path.join(BENCH, m.image), truth: readFileSync(path.join(BENCH, m.truth), 'utf8'), lang: 'eng', groups };
  });
  return [
    sample('english.png', 'english.gt.txt', 'eng', ['cleanEnglish']),
    sample('english_scan.jpg', 'english.gt.txt', 'eng', ['cleanEnglish', 'degraded']),
    sample('chinese.png', 'chinese.gt.txt', 'chi_sim', ['chinese']),
    sample('chinese_scan.jpg', 'chinese.gt.txt', 'chi_sim', ['chinese', 'degraded']),
    ...made,
  ];
}

/** The page as the rasterizer hands it to the engine: upright PNG (Tesseract reads the same file). */
export async function asPng(file: string): Promise<{ png: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(readFileSync(file)).rotate().png().toBuffer({ resolveWithObject: true });
  return { png: data, width: info.width, height: info.height };
}

export interface Scores {
  cer: number;
  spacedCer: number;
  wer: number;
  /** Order-blind character error (cer's lower bound whatever the order). */
  bagError: number;
}

type Counts = ReturnType<typeof editCounts>;
const pct = (n: number) => Math.round(n * 10000) / 100;

function pool(counts: Counts[]): Scores {
  const sum = (k: keyof Counts) => counts.reduce((n, c) => n + c[k], 0);
  return {
    cer: pct(sum('charEdits') / sum('chars')),
    spacedCer: pct(sum('spacedEdits') / sum('spacedChars')),
    wer: pct(sum('wordEdits') / sum('words')),
    bagError: pct(sum('bagEdits') / sum('chars')),
  };
}

export const scoreText = (text: string, truth: string): Scores => pool([editCounts(text, truth)]);

export function tesseractInstalled(): Promise<boolean> {
  return new Promise((resolve) => execFile('tesseract', ['--version'], (err) => resolve(!err)));
}

/**
 * One Tesseract process on one page, single-threaded (one process per core is how it is run for
 * throughput), with the CPU time it used (the shell's `times` reports its children's).
 */
export function tesseract(file: string, lang: string): Promise<{ text: string; cpuS: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'sh',
      ['-c', 'tesseract "$1" stdout -l "$2" 2>/dev/null; echo "@@TIMES@@"; times', 'sh', file, lang],
      { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 16 << 20 },
      (err, stdout) => {
        if (err) return reject(err as Error); // ExecFileException is an Omit<> of Error, not an Error to the linter
        const [text, times] = stdout.split('@@TIMES@@');
        const secs = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        resolve({ text, cpuS: (secs[2] ?? 0) + (secs[3] ?? 0) }); // second line: children's user and sys
      },
    );
  });
}

/** Runs fn over items with `width` at a time. */
export async function parallel<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export async function benchOcrQuality(rounds = Number(process.env.OCR_BENCH_ROUNDS ?? 2)): Promise<Record<string, unknown>> {
  const cores = Math.max(2, os.availableParallelism());
  const pages = qualityPages();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-ocr-bench-'));
  const withTesseract = await tesseractInstalled();
  const { createCpuEngine } = await import('../services/ocr/engines/cpu/engine.ts');
  const engine = createCpuEngine({ workers: cores });
  try {
    const inputs = await Promise.all(
      pages.map(async (p, i) => {
        const { png, width, height } = await asPng(p.file);
        const file = path.join(dir, `${i}.png`);
        writeFileSync(file, png);
        return { page: p, file, input: { page: i + 1, image: png, width, height, task: 'markdown' } satisfies PageInput };
      }),
    );
    const signal = () => AbortSignal.timeout(300_000);
    // Warm-up: every worker loads its models (start-up, not throughput).
    await Promise.all(inputs.slice(0, cores).map((x) => engine.recognize(x.input, signal())));

    const speed = { engine: { s: 0, cpuS: 0 }, tesseract: { s: 0, cpuS: 0 } };
    let engineOut: EngineOutput[] = [];
    let tessOut: string[] = [];
    for (let r = 0; r < rounds; r++) {
      const cpu0 = process.cpuUsage();
      let t = performance.now();
      const outs = await Promise.all(inputs.map((x) => engine.recognize(x.input, signal())));
      speed.engine.s += (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      speed.engine.cpuS += (cpu.user + cpu.system) / 1e6;
      if (r === 0) engineOut = outs;
      if (!withTesseract) continue;
      t = performance.now();
      const tess = await parallel(inputs, cores, (x) => tesseract(x.file, x.page.lang));
      speed.tesseract.s += (performance.now() - t) / 1000;
      speed.tesseract.cpuS += tess.reduce((n, x) => n + x.cpuS, 0);
      if (r === 0) tessOut = tess.map((x) => x.text);
    }

    const n = pages.length * rounds;
    const perPage = (s: { s: number; cpuS: number }) => ({
      cpuSecPerPage: Math.round((s.cpuS / n) * 100) / 100,
      pagesPerSec: Math.round((n / s.s) * 100) / 100,
    });
    const engineCounts = pages.map((p, i) => editCounts(stripMarkdown(engineOut[i].markdown), p.truth));
    const tessCounts = withTesseract ? pages.map((p, i) => editCounts(tessOut[i], p.truth)) : [];
    const groups: Record<string, unknown> = {};
    for (const g of ['cleanEnglish', 'degraded', 'multiColumn', 'chinese'] as Group[]) {
      const idx = pages.map((p, i) => (p.groups.includes(g) ? i : -1)).filter((i) => i >= 0);
      groups[g] = {
        pages: idx.map((i) => pages[i].name),
        engine: pool(idx.map((i) => engineCounts[i])),
        ...(withTesseract ? { tesseract: pool(idx.map((i) => tessCounts[i])) } : {}),
      };
    }
    const e = perPage(speed.engine);
    const t = withTesseract ? perPage(speed.tesseract) : undefined;
    return {
      cores,
      rounds,
      tesseract: withTesseract ? 'tesseract 5 (Debian), one single-threaded process per core, --psm 3' : 'not installed: engine only',
      note: 'shared machine: absolute speed varies with load; engine and Tesseract alternate within the run, so compare the ratio',
      speed: {
        engine: { workers: cores, ...e },
        ...(t ? { tesseract: { processes: cores, ...t }, throughputVsTesseract: Math.round((e.pagesPerSec / t.pagesPerSec) * 100) / 100 } : {}),
      },
      groups,
      pages: Object.fromEntries(
        pages.map((p, i) => [p.name, { engine: pool([engineCounts[i]]), ...(withTesseract ? { tesseract: pool([tessCounts[i]]) } : {}) }]),
      ),
    };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchOcrQuality(process.argv[2] ? Number(process.argv[2]) : undefined), null, 2));
}
