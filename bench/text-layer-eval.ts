// The text-layer path on the real pages: each NAME.pdf's own text layer, extracted as the
// rasterizer hands it to OCR (144 dpi, the job default), laid out by textLayerToOutput and scored
// in reading order against NAME.txt (CER whitespace-blind, WER, order-blind bag error). The
// extracted layers are cached as OUT/NAME.text.json, so layout changes replay in milliseconds.
//   node --import tsx bench/text-layer-eval.ts [--out DIR] [--fresh] [name-substring …]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PageText } from '../shared/bus/index.ts';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { realDir } from './real-eval.ts';

const pct = (a: number, b: number) => (b ? Math.round((a / b) * 1000) / 10 : 0);

export async function extractTextLayer(pdf: string, dpi = 144): Promise<PageText | undefined> {
  const { renderPages, isFailedRender } = await import('../services/rasterizer/rasterize.ts');
  const { createRenderers } = await import('../services/rasterizer/renderers.ts');
  const renderers = createRenderers({ size: 1, memoryMb: 2048 });
  const opts = { dpi, maxLongSide: 4000, maxInputPixels: 100e6, maxPages: 1, openTimeoutMs: 60_000, pageTimeoutMs: 60_000 };
  try {
    for await (const page of renderPages(renderers, { path: pdf }, 'application/pdf', opts)) {
      if (isFailedRender(page)) throw page.error;
      return page.text;
    }
  } finally {
    await renderers.close();
  }
  return undefined;
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (f: string) => args.includes(f) && (args.splice(args.indexOf(f), 1), true);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args.splice(outAt, 2)[1] : '/tmp/text-layer-eval';
  const fresh = flag('--fresh');
  mkdirSync(out, { recursive: true });
  const dir = realDir();
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.pdf'))
    .map((f) => f.replace(/\.pdf$/, ''))
    .filter((n) => args.length === 0 || args.some((a) => n.includes(a)))
    .sort();
  const { isTextLayerUsable, textLayerToOutput } = await import('../services/ocr/engines/text-layer.ts');
  const tot = { c: 0, ce: 0, w: 0, we: 0 };
  console.log('page'.padEnd(16), '  CER   WER   bag  usable');
  for (const name of names) {
    const cache = path.join(out, `${name}.text.json`);
    let text: PageText | undefined;
    if (!fresh && existsSync(cache)) text = JSON.parse(readFileSync(cache, 'utf8')) as PageText;
    else {
      text = await extractTextLayer(path.join(dir, `${name}.pdf`));
      if (text) writeFileSync(cache, JSON.stringify(text));
    }
    if (!text) {
      console.log(name.padEnd(16), 'no text layer');
      continue;
    }
    const res = textLayerToOutput(text);
    writeFileSync(path.join(out, `${name}.md`), res.markdown);
    const truth = readFileSync(path.join(dir, `${name}.txt`), 'utf8');
    const e = editCounts(stripMarkdown(res.markdown), truth);
    tot.c += e.chars;
    tot.ce += e.charEdits;
    tot.w += e.words;
    tot.we += e.wordEdits;
    const f = (v: number) => String(v).padStart(5);
    console.log(name.padEnd(16), f(pct(e.charEdits, e.chars)), f(pct(e.wordEdits, e.words)), f(pct(e.bagEdits, e.chars)), ' ', isTextLayerUsable(text));
  }
  console.log('TOTAL (pooled)'.padEnd(16), String(pct(tot.ce, tot.c)).padStart(5), String(pct(tot.we, tot.w)).padStart(5));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
