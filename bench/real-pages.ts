// The embedded CPU engine against Tesseract 5 on real pages (../shared/samples/real when present,
// else the pages pinned in test/fixtures/real): US federal pages with narrow-gutter columns,
// tables, footnotes and sidebars, four degraded scans of them and four scans from source, each
// with its text in reading order. In one run, on the same images:
// - reading-order figures per page, pooled and per layout kind (the manifest's): CER with
//   whitespace ignored (test/helpers/cer.ts), CER with whitespace runs as one space, WER, and the
//   order-free bag-of-words error (words missing or extra whatever their order; WER minus it is
//   roughly what reading order costs);
// - the same CER and WER with line-end hyphens joined on every side: the truths keep them as
//   printed (`sim-` / `ply`), Folio joins them by design (a reader, a search index and olmOCR-Bench's
//   tests want `simply`) and Tesseract keeps them, so the strict figures charge the engine two
//   words per join. `hyphensJoined` applies one rule (joinLineEndHyphens, the engine's own) to the
//   truth and to Tesseract's text alike; the strict figures stay the headline;
// - unit tests of the olmOCR-Bench kind written for these pages (bench/real-pages-tests.json,
//   scored by bench/olmocr-rules.ts): pass rates side by side;
// - speed on this machine's cores: the engine with one worker per core, Tesseract with one
//   single-threaded process per core (`tesseract FILE stdout -l eng`, --psm 3 being its default),
//   rounds alternating so load from other users falls on both; CPU-seconds per page; the CPU
//   model, whether it has AVX512-VNNI (the engine's 8-bit recogniser depends on it) and the load
//   average before and after each figure.
// Alone: `node --import tsx bench/real-pages.ts [rounds]` prints JSON. REAL_BENCH_OUT=DIR keeps
// each page's outputs (NAME.engine.md, NAME.tesseract.txt).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PageInput } from '../services/ocr/engine.ts';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { asPng, parallel, tesseract, tesseractInstalled } from './ocr-quality.ts';
import { realDir, realPages, type RealPage } from './real-eval.ts';
import { scoreTests, type PageTest } from './olmocr-rules.ts';
import { withoutFurniture } from '../services/assembler/furniture.ts';
import { joinLineEndHyphens } from '../services/ocr/text-cleanup.ts';

export type Kind = 'multiColumn' | 'tables' | 'singleColumn' | 'scans';

interface ManifestEntry {
  name: string;
  files: { pdf?: string };
  layout: { type: string };
}

/** Layout kinds of a page from the manifest: a degraded `-scan` copy has its source's kind and is a scan. */
export function kindsOf(page: string, manifest: ManifestEntry[]): Kind[] {
  const source = page.replace(/-scan$/, '');
  const entry = manifest.find((m) => m.name === source);
  const type = entry?.layout.type ?? '';
  const kinds: Kind[] = [type === 'multi-column' ? 'multiColumn' : /table/.test(type) ? 'tables' : 'singleColumn'];
  if (page.endsWith('-scan') || (entry && !entry.files.pdf)) kinds.push('scans');
  return kinds;
}

export function readManifest(dir = realDir()): ManifestEntry[] {
  const file = path.join(dir, 'MANIFEST.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { files: ManifestEntry[] }).files : [];
}

/** The unit tests written for the real pages (bench/real-pages-tests.json). */
export function realPageTests(): PageTest[] {
  return JSON.parse(readFileSync(new URL('./real-pages-tests.json', import.meta.url), 'utf8')) as PageTest[];
}

/** Words missing or extra whatever their order, over the reference's words. */
export function bagOfWords(hypothesis: string, reference: string): { words: number; bagEdits: number } {
  const words = (s: string) => s.normalize('NFC').split(/\s+/u).filter(Boolean);
  const ref = words(reference);
  const count = new Map<string, number>();
  for (const w of ref) count.set(w, (count.get(w) ?? 0) + 1);
  for (const w of words(hypothesis)) count.set(w, (count.get(w) ?? 0) - 1);
  let missing = 0;
  let extra = 0;
  for (const n of count.values()) n > 0 ? (missing += n) : (extra -= n);
  return { words: ref.length, bagEdits: Math.max(missing, extra) };
}

type Counts = ReturnType<typeof editCounts> & { bagWordEdits: number };
const pct = (n: number) => Math.round(n * 10000) / 100;
const counts = (text: string, truth: string): Counts => ({ ...editCounts(text, truth), bagWordEdits: bagOfWords(text, truth).bagEdits });

export function pool(cs: Counts[]) {
  const sum = (k: keyof Counts) => cs.reduce((n, c) => n + c[k], 0);
  return {
    cer: pct(sum('charEdits') / sum('chars')),
    spacedCer: pct(sum('spacedEdits') / sum('spacedChars')),
    wer: pct(sum('wordEdits') / sum('words')),
    bagOfWords: pct(sum('bagWordEdits') / sum('words')),
  };
}

/** The CPU this ran on, as /proc/cpuinfo names it, and whether it has the 8-bit dot-product instructions. */
export function cpuInfo(): { model: string; avx512Vnni: boolean; cores: number } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: os.cpus() names the model; the flags are unknown.
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '';
  return { model, avx512Vnni: /\bavx512_vnni\b/.test(flags), cores: os.availableParallelism() };
}

const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

export async function benchRealPages(rounds = Number(process.env.REAL_BENCH_ROUNDS ?? 2)): Promise<Record<string, unknown>> {
  const cores = Math.max(2, os.availableParallelism());
  const dir = realDir();
  const pages: RealPage[] = realPages(dir);
  const manifest = readManifest(dir);
  const tests = realPageTests();
  const keep = process.env.REAL_BENCH_OUT;
  if (keep) mkdirSync(keep, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'folio-real-bench-'));
  const withTesseract = await tesseractInstalled();
  const { createCpuEngine } = await import('../services/ocr/engines/cpu/engine.ts');
  const engine = createCpuEngine({ workers: cores });
  const cpu = cpuInfo();
  try {
    const inputs = await Promise.all(
      pages.map(async (p, i) => {
        const { png, width, height } = await asPng(p.file);
        const file = path.join(tmp, `${i}.png`);
        writeFileSync(file, png);
        return { page: p, file, input: { page: i + 1, image: png, width, height, task: 'markdown' } satisfies PageInput };
      }),
    );
    const signal = () => AbortSignal.timeout(600_000);
    await Promise.all(inputs.slice(0, cores).map((x) => engine.recognize(x.input, signal())));

    const speed = { engine: { s: 0, cpuS: 0, load: [] as number[][] }, tesseract: { s: 0, cpuS: 0, load: [] as number[][] } };
    let engineMd: string[] = [];
    // What a user gets by default (document.md): page furniture typed and left out. CER is scored
    // on the page Markdown with furniture kept, as the truth transcribes running heads.
    let engineDoc: string[] = [];
    let tessText: string[] = [];
    for (let r = 0; r < rounds; r++) {
      speed.engine.load.push(load());
      const cpu0 = process.cpuUsage();
      let t = performance.now();
      const outs = await Promise.all(inputs.map((x) => engine.recognize(x.input, signal())));
      speed.engine.s += (performance.now() - t) / 1000;
      const used = process.cpuUsage(cpu0);
      speed.engine.cpuS += (used.user + used.system) / 1e6;
      speed.engine.load.push(load());
      if (r === 0) {
        engineMd = outs.map((o) => o.markdown);
        engineDoc = outs.map((o) => withoutFurniture(o.markdown, o.blocks));
      }
      if (!withTesseract) continue;
      speed.tesseract.load.push(load());
      t = performance.now();
      const tess = await parallel(inputs, cores, (x) => tesseract(x.file, 'eng'));
      speed.tesseract.s += (performance.now() - t) / 1000;
      speed.tesseract.cpuS += tess.reduce((n, x) => n + x.cpuS, 0);
      speed.tesseract.load.push(load());
      if (r === 0) tessText = tess.map((x) => x.text);
    }
    if (keep) {
      pages.forEach((p, i) => {
        writeFileSync(path.join(keep, `${p.name}.engine.md`), engineMd[i]);
        if (withTesseract) writeFileSync(path.join(keep, `${p.name}.tesseract.txt`), tessText[i]);
      });
    }

    const n = pages.length * rounds;
    const perPage = (s: (typeof speed)['engine']) => ({
      pagesPerSec: Math.round((n / s.s) * 1000) / 1000,
      cpuSecPerPage: Math.round((s.cpuS / n) * 100) / 100,
      loadAverage1m: { min: Math.min(...s.load.map((l) => l[0])), max: Math.max(...s.load.map((l) => l[0])) },
    });
    const engineCounts = pages.map((p, i) => counts(stripMarkdown(engineMd[i]), p.truth));
    const tessCounts = withTesseract ? pages.map((p, i) => counts(tessText[i], p.truth)) : [];
    const joinedTruth = pages.map((p) => joinLineEndHyphens(p.truth));
    const engineJoined = pages.map((_, i) => counts(stripMarkdown(engineMd[i]), joinedTruth[i]));
    const tessJoined = withTesseract ? pages.map((_, i) => counts(joinLineEndHyphens(tessText[i]), joinedTruth[i])) : [];
    const joined = (idx: number[]) => {
      const brief = (c: ReturnType<typeof pool>) => ({ cer: c.cer, wer: c.wer });
      return {
        engine: brief(pool(idx.map((i) => engineJoined[i]))),
        ...(withTesseract ? { tesseract: brief(pool(idx.map((i) => tessJoined[i]))) } : {}),
      };
    };
    const kinds = pages.map((p) => kindsOf(p.name, manifest));
    const groups: Record<string, unknown> = {};
    for (const k of ['multiColumn', 'tables', 'singleColumn', 'scans'] as Kind[]) {
      const idx = kinds.map((ks, i) => (ks.includes(k) ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) continue;
      groups[k] = {
        pages: idx.map((i) => pages[i].name),
        engine: pool(idx.map((i) => engineCounts[i])),
        ...(withTesseract ? { tesseract: pool(idx.map((i) => tessCounts[i])) } : {}),
        hyphensJoined: joined(idx),
      };
    }
    const all = pages.map((_, i) => i);
    // Pages where the engine reads worse than Tesseract, strictly and with hyphens joined alike.
    const behind = (e: Counts[], t: Counts[]) =>
      withTesseract
        ? pages
            .map((p, i) => ({ page: p.name, e: pool([e[i]]), t: pool([t[i]]) }))
            .filter((x) => x.e.cer > x.t.cer || x.e.wer > x.t.wer)
            .map((x) => `${x.page}: CER ${x.e.cer} vs ${x.t.cer}, WER ${x.e.wer} vs ${x.t.wer}`)
        : [];
    // A degraded scan is held to its source page's tests.
    const mine = pages.flatMap((p) =>
      tests.filter((t) => t.page === p.name.replace(/-scan$/, '')).map((t) => (t.page === p.name ? t : { ...t, id: `${t.id}@scan`, page: p.name })),
    );
    const unitEngine = scoreTests(mine, Object.fromEntries(pages.map((p, i) => [p.name, engineDoc[i]])));
    const unitTess = withTesseract ? scoreTests(mine, Object.fromEntries(pages.map((p, i) => [p.name, tessText[i]]))) : undefined;
    const perPageTests = (s: ReturnType<typeof scoreTests>, page: string) => {
      const own = mine.filter((t) => t.page === page);
      const failed = s.failures.filter((f) => own.some((t) => t.id === f.id)).length;
      return `${own.length - failed}/${own.length}`;
    };

    const eSpeed = perPage(speed.engine);
    const tSpeed = withTesseract ? perPage(speed.tesseract) : undefined;
    const row = (name: string, a: ReturnType<typeof pool>, b?: ReturnType<typeof pool>, ta = '', tb = '') =>
      `${name.padEnd(20)} ${[a.cer, a.spacedCer, a.wer, a.bagOfWords].map((x) => x.toFixed(1).padStart(6)).join('')} ${ta.padStart(6)} |${b ? [b.cer, b.spacedCer, b.wer, b.bagOfWords].map((x) => x.toFixed(1).padStart(6)).join('') : ''} ${tb.padStart(6)}`;
    const table = [
      `${'page'.padEnd(20)} ${'engine: CER  sCER   WER   bag  tests'} | tesseract: CER  sCER   WER   bag  tests`,
      ...pages.map((p, i) =>
        row(
          p.name,
          pool([engineCounts[i]]),
          withTesseract ? pool([tessCounts[i]]) : undefined,
          perPageTests(unitEngine, p.name),
          unitTess ? perPageTests(unitTess, p.name) : '',
        ),
      ),
      ...Object.entries(groups).map(([k, g]) =>
        row(`[${k}]`, (g as { engine: ReturnType<typeof pool> }).engine, (g as { tesseract?: ReturnType<typeof pool> }).tesseract),
      ),
      row(
        '[all, pooled]',
        pool(engineCounts),
        withTesseract ? pool(tessCounts) : undefined,
        `${unitEngine.passed}/${unitEngine.total}`,
        unitTess ? `${unitTess.passed}/${unitTess.total}` : '',
      ),
      `behind Tesseract, strict: ${behind(engineCounts, tessCounts).join('; ') || 'none'}`,
      `behind Tesseract, line-end hyphens joined on every side: ${behind(engineJoined, tessJoined).join('; ') || 'none'}`,
    ];
    return {
      pagesFrom: path.relative(process.cwd(), dir) || dir,
      pageCount: pages.length,
      cores,
      rounds,
      cpu,
      tesseract: withTesseract ? 'tesseract 5 (Debian), one single-threaded process per core, -l eng --psm 3' : 'not installed: engine only',
      note: 'CER ignores whitespace; spacedCer counts word spaces; bagOfWords is the order-free word error; per cent, pooled over pages (total edits / total reference)',
      speed: {
        cpu: `${cpu.model}, avx512_vnni ${cpu.avx512Vnni ? 'yes' : 'no'}`,
        engine: { workers: cores, ...eSpeed },
        ...(tSpeed ? { tesseract: { processes: cores, ...tSpeed }, throughputVsTesseract: Math.round((speed.tesseract.s / speed.engine.s) * 100) / 100 } : {}),
      },
      all: { engine: pool(engineCounts), ...(withTesseract ? { tesseract: pool(tessCounts) } : {}), hyphensJoined: joined(all) },
      behindTesseract: { strict: behind(engineCounts, tessCounts), hyphensJoined: behind(engineJoined, tessJoined) },
      groups,
      unitTests: {
        file: 'bench/real-pages-tests.json',
        rules: 'olmOCR-Bench (bench/olmocr-rules.ts)',
        engine: { passed: unitEngine.passed, total: unitEngine.total, rate: unitEngine.rate, byType: unitEngine.byType },
        ...(unitTess ? { tesseract: { passed: unitTess.passed, total: unitTess.total, rate: unitTess.rate, byType: unitTess.byType } } : {}),
        engineFailures: unitEngine.failures,
      },
      pages: Object.fromEntries(
        pages.map((p, i) => [
          p.name,
          { kinds: kinds[i], engine: pool([engineCounts[i]]), ...(withTesseract ? { tesseract: pool([tessCounts[i]]) } : {}), hyphensJoined: joined([i]) },
        ]),
      ),
      table,
    };
  } finally {
    await engine.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchRealPages(process.argv[2] ? Number(process.argv[2]) : undefined);
  console.error((r.table as string[]).join('\n'));
  console.log(JSON.stringify(r, null, 2));
}
