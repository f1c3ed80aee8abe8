// Quick look at the CPU engine on the real pages (../shared/samples/real, or test/fixtures/real):
// reads each page once with one worker, writes the Markdown to OUT/NAME.md and prints CER
// (whitespace-blind), spaced CER, WER and the order-blind bag error per page, beside Tesseract's
// (cached in OUT/NAME.tess.txt, so it is read once). For iterating on the engine; the benchmark
// proper (same run, speed, unit tests) is `npm run bench -- realPages`.
//   node --import tsx bench/real-eval.ts [--out DIR] [--no-tess] [name-substring …]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { asPng, tesseract, tesseractInstalled } from './ocr-quality.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function realDir(): string {
  const shared = path.join(ROOT, '..', 'shared', 'samples', 'real');
  return existsSync(shared) ? shared : path.join(ROOT, 'test', 'fixtures', 'real');
}

export interface RealPage {
  name: string;
  file: string;
  truth: string;
}

/** Every page image (NAME.png and NAME-scan.jpg) with its truth text. */
export function realPages(dir = realDir()): RealPage[] {
  return readdirSync(dir)
    .filter((f) => /\.(png|jpg)$/.test(f))
    .sort()
    .map((f) => {
      const name = f.replace(/\.(png|jpg)$/, '');
      return { name, file: path.join(dir, f), truth: readFileSync(path.join(dir, `${name.replace(/-scan$/, '')}.txt`), 'utf8') };
    });
}

const pct = (a: number, b: number) => (b ? Math.round((a / b) * 1000) / 10 : 0);

async function main() {
  const args = process.argv.slice(2);
  const flag = (f: string) => args.includes(f) && (args.splice(args.indexOf(f), 1), true);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args.splice(outAt, 2)[1] : '/tmp/real-eval';
  const noTess = flag('--no-tess') || !(await tesseractInstalled());
  mkdirSync(out, { recursive: true });
  const pages = realPages().filter((p) => args.length === 0 || args.some((a) => p.name.includes(a)));
  const { createCpuEngine } = await import('../services/ocr/engines/cpu/engine.ts');
  const engine = createCpuEngine({ workers: 1 });
  const tot = { e: { c: 0, ce: 0, w: 0, we: 0 }, t: { c: 0, ce: 0, w: 0, we: 0 } };
  console.log('page'.padEnd(22), 'engine CER  WER  bag |  tess CER  WER |  s');
  for (const p of pages) {
    const { png, width, height } = await asPng(p.file);
    const t0 = performance.now();
    const res = await engine.recognize({ image: png, width, height, task: 'markdown' } as never, new AbortController().signal);
    const secs = (performance.now() - t0) / 1000;
    writeFileSync(path.join(out, `${p.name}.md`), res.markdown);
    const e = editCounts(stripMarkdown(res.markdown), p.truth);
    tot.e.c += e.chars;
    tot.e.ce += e.charEdits;
    tot.e.w += e.words;
    tot.e.we += e.wordEdits;
    let tessCol = '';
    if (!noTess) {
      const cache = path.join(out, `${p.name}.tess.txt`);
      if (!existsSync(cache)) writeFileSync(cache, (await tesseract(p.file, 'eng')).text);
      const t = editCounts(readFileSync(cache, 'utf8'), p.truth);
      tot.t.c += t.chars;
      tot.t.ce += t.charEdits;
      tot.t.w += t.words;
      tot.t.we += t.wordEdits;
      tessCol = `${String(pct(t.charEdits, t.chars)).padStart(9)} ${String(pct(t.wordEdits, t.words)).padStart(4)}`;
    }
    console.log(
      p.name.padEnd(22),
      String(pct(e.charEdits, e.chars)).padStart(10),
      String(pct(e.wordEdits, e.words)).padStart(4),
      String(pct(e.bagEdits, e.chars)).padStart(4),
      '|',
      tessCol,
      '|',
      secs.toFixed(1),
    );
  }
  console.log(
    'TOTAL (pooled)'.padEnd(22),
    String(pct(tot.e.ce, tot.e.c)).padStart(10),
    String(pct(tot.e.we, tot.e.w)).padStart(4),
    '     |',
    noTess ? '' : `${String(pct(tot.t.ce, tot.t.c)).padStart(9)} ${String(pct(tot.t.we, tot.t.w)).padStart(4)}`,
  );
  await engine.close();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
