// Layout without OCR: reads each real page once (the CPU engine in-process on NAME.png and
// NAME-scan.jpg; the text layer of NAME.pdf), caches the lines layoutPage was given, then
// replays layoutPage on the cache and scores it against NAME.txt (CER, WER and bag error, as
// bench/real-eval.ts does). For iterating on services/ocr/layout*.ts in seconds.
//   node --import tsx bench/layout-replay.ts --dump [name-substring …]   read the pages, fill the cache
//   node --import tsx bench/layout-replay.ts [--save-base] [--show NAME] [name-substring …]
// Replays print each page beside the saved base (--save-base stores this run as the base).
// Scoring keeps page furniture (the truths hold the running heads) and scores hyphen joins
// against the truth joined the same way (the truths keep line-end hyphens as printed).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { layoutPage, layoutTap, type LayoutLine, type LayoutOptions } from '../services/ocr/layout.ts';
import { joinLineEndHyphens } from '../services/ocr/text-cleanup.ts';
import { realDir, realPages } from './real-eval.ts';

const CACHE = process.env.LAYOUT_CACHE ?? '/tmp/layout-cache';

interface Cached {
  name: string;
  truth: string;
  lines: LayoutLine[];
  opts: LayoutOptions;
}

async function dump(filter: string[]) {
  mkdirSync(CACHE, { recursive: true });
  const want = (n: string) => filter.length === 0 || filter.some((f) => n.includes(f));
  let captured: { lines: LayoutLine[]; opts: LayoutOptions } | undefined;
  layoutTap.input = (lines, opts) => (captured = { lines: structuredClone(lines), opts: { ...opts } });
  const save = (name: string, truth: string) => {
    if (!captured) throw new Error(`${name}: layoutPage was not called`);
    const { plain: _plain, ...opts } = captured.opts;
    writeFileSync(path.join(CACHE, `${name}.json`), JSON.stringify({ name, truth, lines: captured.lines, opts } satisfies Cached));
    captured = undefined;
  };
  const images = realPages().filter((p) => want(p.name));
  if (images.length) {
    const { asPng } = await import('./ocr-quality.ts');
    const { loadPaddle } = await import('../services/ocr/engines/cpu/paddle.ts');
    const { recognizePage } = await import('../services/ocr/engines/cpu/recognize-page.ts');
    const paddle = await loadPaddle({ threads: 2, tuning: { int8: true } });
    for (const [i, p] of images.entries()) {
      const { png, width, height } = await asPng(p.file);
      const t = performance.now();
      await recognizePage(
        paddle,
        { id: i, image: png, width, height, task: 'markdown' },
        { threads: 2, detSide: 960, recSide: 2048, maxPixels: 100_000_000, int8: true },
      );
      save(p.name, p.truth);
      console.log(p.name, `${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  const pdfs = readdirSync(realDir()).filter((f) => f.endsWith('.pdf') && want(`${f.slice(0, -4)}.pdf`));
  if (pdfs.length) {
    const { openPdf } = await import('../shared/render/pdfjs.ts');
    const { renderPdfPages } = await import('../services/rasterizer/pdf-pages.ts');
    const { textLayerToOutput } = await import('../services/ocr/engines/text-layer.ts');
    for (const f of pdfs) {
      const doc = await openPdf({ path: path.join(realDir(), f) });
      try {
        for await (const r of renderPdfPages(doc, [1], { dpi: 200, maxLongSide: 4000 })) {
          if (!('png' in r) || !r.text) continue;
          textLayerToOutput(r.text);
          save(`${f.slice(0, -4)}.pdf`, readFileSync(path.join(realDir(), f.replace(/\.pdf$/, '.txt')), 'utf8'));
          console.log(f);
        }
      } finally {
        await doc.destroy();
      }
    }
  }
}

const pct = (a: number, b: number) => (b ? Math.round((a / b) * 1000) / 10 : 0);

function replay(filter: string[], saveBase: boolean, show?: string) {
  const files = readdirSync(CACHE).filter((f) => f.endsWith('.json') && f !== 'base.json' && (filter.length === 0 || filter.some((n) => f.includes(n))));
  const baseFile = path.join(CACHE, 'base.json');
  const base: Record<string, { cer: number; wer: number }> = existsSync(baseFile) ? JSON.parse(readFileSync(baseFile, 'utf8')) : {};
  const now: typeof base = saveBase ? { ...base } : {};
  const tot = { c: 0, ce: 0, w: 0, we: 0, b: 0 };
  console.log('page'.padEnd(24), '  CER   WER   bag |  base CER  WER');
  for (const f of files.sort()) {
    const c = JSON.parse(readFileSync(path.join(CACHE, f), 'utf8')) as Cached;
    // JSON writes the OCR path's joinGap -Infinity ("never join") as null, which would read as the default 0.4.
    if (c.opts.joinGap === null) c.opts.joinGap = -Infinity;
    const { markdown } = layoutPage(c.lines, { ...c.opts, furniture: 'keep' });
    if (show && c.name === show) console.log(markdown);
    const e = editCounts(stripMarkdown(markdown), joinLineEndHyphens(c.truth));
    tot.c += e.chars;
    tot.ce += e.charEdits;
    tot.w += e.words;
    tot.we += e.wordEdits;
    tot.b += e.bagEdits;
    const r = { cer: pct(e.charEdits, e.chars), wer: pct(e.wordEdits, e.words) };
    const b = base[c.name];
    const mark = b ? (r.cer < b.cer - 0.05 ? ' better' : r.cer > b.cer + 0.05 ? ' WORSE' : '') : '';
    console.log(
      c.name.padEnd(24),
      String(r.cer).padStart(5),
      String(r.wer).padStart(5),
      String(pct(e.bagEdits, e.chars)).padStart(5),
      '|',
      b ? `${String(b.cer).padStart(8)} ${String(b.wer).padStart(4)}` : '',
      mark,
    );
    if (saveBase) now[c.name] = r;
  }
  console.log(
    'TOTAL (pooled)'.padEnd(24),
    String(pct(tot.ce, tot.c)).padStart(5),
    String(pct(tot.we, tot.w)).padStart(5),
    String(pct(tot.b, tot.c)).padStart(5),
  );
  if (saveBase) writeFileSync(baseFile, JSON.stringify(now, null, 1));
}

const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f) && (args.splice(args.indexOf(f), 1), true);
const showAt = args.indexOf('--show');
const show = showAt >= 0 ? args.splice(showAt, 2)[1] : undefined;
if (flag('--dump')) await dump(args);
else replay(args, flag('--save-base'), show);
