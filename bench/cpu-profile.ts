// Where a page's time goes in the CPU engine (development tool, not part of `npm run bench`):
// reads the quality pages in-process, one at a time, and prints milliseconds per stage per page
// (decode, resize, detector tensor/run/boxes, crops, recogniser tensor/run, CTC decode, layout)
// plus CPU-seconds per page. THREADS sets onnxruntime's threads (default 1: CPU cost, not latency).
//   PAGES=report.png,news3 THREADS=1 node --import tsx bench/cpu-profile.ts '{"batch":8}'
import { loadPaddle, type Timings, type Tuning } from '../services/ocr/engines/cpu/paddle.ts';
import { recognizePage } from '../services/ocr/engines/cpu/recognize-page.ts';
import { asPng, qualityPages } from './ocr-quality.ts';

const only = process.env.PAGES?.split(',');
const pages = qualityPages().filter((p) => !only || only.some((o) => p.name.includes(o)));
const inputs = await Promise.all(pages.map((p) => asPng(p.file)));
const threads = Number(process.env.THREADS ?? 1);
const init = { threads, detSide: Number(process.env.DET_SIDE ?? 960), recSide: Number(process.env.REC_SIDE ?? 2048), maxPixels: 1e8 };
for (const arg of process.argv.slice(2).length ? process.argv.slice(2) : ['{}']) {
  const tuning = JSON.parse(arg) as Partial<Tuning>;
  const paddle = await loadPaddle({ threads, tuning });
  // One untimed page first: onnxruntime's first runs allocate and plan.
  await recognizePage(paddle, { id: 0, image: inputs[0].png, width: inputs[0].width, height: inputs[0].height, task: 'markdown' }, init);
  const total: Timings = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const [i, p] of pages.entries()) {
    const timings: Timings = {};
    const t = performance.now();
    await recognizePage(
      paddle,
      { id: i, image: inputs[i].png, width: inputs[i].width, height: inputs[i].height, task: 'markdown' },
      init,
      () => false,
      timings,
    );
    timings.total = performance.now() - t;
    for (const [k, v] of Object.entries(timings)) total[k] = (total[k] ?? 0) + v;
    if (process.env.PER) console.log(p.name, JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)]))));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await paddle.release();
  const perPage = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, Math.round(v / pages.length)]));
  console.log(
    JSON.stringify({
      tuning,
      threads,
      pages: pages.length,
      cpuSecPerPage: Math.round(((cpu.user + cpu.system) / 1e6 / pages.length) * 100) / 100,
      wallSecPerPage: Math.round((wall / pages.length) * 100) / 100,
      msPerPage: perPage,
    }),
  );
}
process.exit(0);
