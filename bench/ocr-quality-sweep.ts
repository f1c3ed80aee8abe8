// Tuning sweep for the CPU engine (development tool, not part of `npm run bench`): reads the
// quality pages in-process with one onnxruntime thread under each tuning given as JSON, and
// prints pooled scores per group plus CPU-seconds per page, so choices are measured, not guessed.
//   node --import tsx bench/ocr-quality-sweep.ts '{"recNorm":"signed"}' '{"batch":1}' …
import { loadPaddle, type Tuning } from '../services/ocr/engines/cpu/paddle.ts';
import { recognizePage } from '../services/ocr/engines/cpu/recognize-page.ts';
import { editCounts, stripMarkdown } from '../test/helpers/cer.ts';
import { asPng, qualityPages } from './ocr-quality.ts';

const only = process.env.PAGES?.split(',');
const pages = qualityPages().filter((p) => !only || only.some((o) => p.name.includes(o)));
const inputs = await Promise.all(pages.map((p) => asPng(p.file)));
const init = {
  threads: 1,
  detSide: Number(process.env.DET_SIDE ?? 960),
  recSide: Number(process.env.REC_SIDE ?? 2048),
  maxPixels: 1e8,
  adaptive: process.env.ADAPTIVE !== '0',
};
for (const arg of process.argv.slice(2).length ? process.argv.slice(2) : ['{}']) {
  const tuning = JSON.parse(arg) as Partial<Tuning>;
  const paddle = await loadPaddle({ threads: 1, tuning });
  const counts: Record<string, ReturnType<typeof editCounts>[]> = {};
  const cpu0 = process.cpuUsage();
  const per: string[] = [];
  for (const [i, p] of pages.entries()) {
    const out = await recognizePage(
      paddle,
      {
        id: i,
        image: inputs[i].png,
        width: inputs[i].width,
        height: inputs[i].height,
        task: 'markdown',
        lang: process.env.LANG_OPT as 'en' | 'zh' | 'auto' | undefined,
      },
      init,
    );
    const c = editCounts(stripMarkdown(out.markdown), p.truth);
    for (const g of p.groups) (counts[g] ??= []).push(c);
    per.push(`${p.name}:${((100 * c.charEdits) / c.chars).toFixed(2)}/${((100 * c.wordEdits) / c.words).toFixed(1)}`);
    if (process.env.DUMP) console.error(`--- ${p.name}\n${out.markdown}`);
  }
  const cpu = process.cpuUsage(cpu0);
  await paddle.release();
  const pooled = Object.fromEntries(
    Object.entries(counts).map(([g, cs]) => {
      const s = (k: keyof (typeof cs)[0]) => cs.reduce((n, c) => n + c[k], 0);
      return [
        g,
        `cer ${((100 * s('charEdits')) / s('chars')).toFixed(2)} spaced ${((100 * s('spacedEdits')) / s('spacedChars')).toFixed(2)} wer ${((100 * s('wordEdits')) / s('words')).toFixed(2)}`,
      ];
    }),
  );
  console.log(JSON.stringify({ tuning, cpuSecPerPage: Math.round(((cpu.user + cpu.system) / 1e6 / pages.length) * 100) / 100, ...pooled }));
  if (process.env.PER) console.log(per.join(' '));
}
process.exit(0);
