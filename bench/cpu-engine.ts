// CPU OCR engine throughput and memory on the fixture images, with 1 worker and with N (one per
// core, at least 2). Each configuration runs in a fresh process, so its peak RSS is its own;
// worker threads share that process, so the per-worker figure is (peak − baseline) / workers,
// where the baseline process loads the same modules and images but starts no worker.
// Also reports each sample's character error rate and the main thread's worst event-loop
// stall while pages were read (inference must stay off the event loop).
// Alone: `node --import tsx bench/cpu-engine.ts` prints JSON.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { PageInput } from '../services/ocr/engine.ts';
import { cer, stripMarkdown } from '../test/helpers/cer.ts';

const SAMPLES: Array<[image: string, truth: string]> = [
  ['english.png', 'english.gt.txt'],
  ['chinese.png', 'chinese.gt.txt'],
  ['english_scan.jpg', 'english.gt.txt'],
  ['chinese_scan.jpg', 'chinese.gt.txt'],
  ['english_exif6.jpg', 'english.gt.txt'],
];
const ROUNDS = 2;
const SELF = fileURLToPath(import.meta.url);
const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));

interface ChildResult {
  workers: number;
  pages: number;
  startMs: number;
  ms: number;
  pagesPerSec: number;
  /** Seconds one worker spends per page (wall time × workers / pages). */
  secPerPage: number;
  peakRssMb: number;
  maxEventLoopStallMs: number;
  cer: Record<string, number>;
}

/** Pages as the rasterizer hands them over: upright PNG. */
async function loadPages(): Promise<PageInput[]> {
  return Promise.all(
    SAMPLES.map(async ([name], i) => {
      const { data, info } = await sharp(fixture(name)).rotate().png().toBuffer({ resolveWithObject: true });
      return { page: i + 1, image: data, width: info.width, height: info.height, task: 'markdown' as const };
    }),
  );
}

async function child(workers: number): Promise<ChildResult> {
  const pages = await loadPages();
  const result: ChildResult = { workers, pages: 0, startMs: 0, ms: 0, pagesPerSec: 0, secPerPage: 0, peakRssMb: 0, maxEventLoopStallMs: 0, cer: {} };
  if (workers > 0) {
    const { createCpuEngine } = await import('../services/ocr/engines/cpu/engine.ts');
    const engine = createCpuEngine({ workers });
    const signal = () => AbortSignal.timeout(120_000);
    try {
      // Warm-up: one page per worker starts every worker (model loading is start-up, not throughput).
      let t = performance.now();
      await Promise.all(pages.slice(0, workers).map((p) => engine.recognize(p, signal())));
      result.startMs = Math.round(performance.now() - t);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      t = performance.now();
      const jobs = Array.from({ length: ROUNDS }, () => pages).flat();
      const outputs = await Promise.all(jobs.map((p) => engine.recognize(p, signal())));
      result.ms = Math.round(performance.now() - t);
      loop.disable();
      result.pages = jobs.length;
      result.pagesPerSec = Math.round((jobs.length / result.ms) * 1000 * 100) / 100;
      result.secPerPage = Math.round((result.ms / jobs.length / 1000) * workers * 100) / 100;
      result.maxEventLoopStallMs = Math.round(loop.max / 1e6);
      SAMPLES.forEach(([name, truth], i) => {
        result.cer[name] = Math.round(cer(stripMarkdown(outputs[i].markdown), fixture(truth).toString('utf8')) * 10000) / 100;
      });
    } finally {
      await engine.close();
    }
  }
  result.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024); // KiB on Linux
  return result;
}

function runChild(workers: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', String(workers)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`bench child (${workers} workers) exited ${code}`))));
  });
}

export async function benchCpuEngine(): Promise<Record<string, unknown>> {
  const n = Math.max(2, os.availableParallelism());
  const baseline = await runChild(0);
  const one = await runChild(1);
  const many = await runChild(n);
  const perWorker = (r: ChildResult) => Math.round((r.peakRssMb - baseline.peakRssMb) / r.workers);
  return {
    cores: os.availableParallelism(),
    samples: SAMPLES.map(([name]) => name),
    rounds: ROUNDS,
    baselineRssMb: baseline.peakRssMb,
    oneWorker: { ...one, peakRssPerWorkerMb: perWorker(one) },
    nWorkers: { ...many, peakRssPerWorkerMb: perWorker(many) },
    speedupNvs1: Math.round((many.pagesPerSec / one.pagesPerSec) * 100) / 100,
  };
}

const isMain = process.argv[1] === SELF;
if (isMain && process.argv[2] === '--child') {
  process.stdout.write(JSON.stringify(await child(Number(process.argv[3]))));
} else if (isMain) {
  console.log(JSON.stringify(await benchCpuEngine(), null, 2));
}
