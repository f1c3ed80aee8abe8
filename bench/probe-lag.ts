// Ingest's event-loop lag while a ~100 MB PDF is probed (page count, encryption, limits), as
// ingest does it now (in a renderer process: shared/render/probe.ts) and as it did before
// (pdf.js on ingest's own thread, measured in a fresh process so pdf.js does not leak into this one).
// p99 of perf_hooks.monitorEventLoopDelay over the probe; target p99 < 50 ms.
// Alone: `node --import tsx bench/probe-lag.ts` (writes its key into bench/results.json).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { bigPdf } from '../test/helpers/hostile-pdf.ts';

const SELF = fileURLToPath(import.meta.url);
const RUNS = 3;
const MB = 100;
const limits = { maxPages: 1000, maxInputPixels: 100e6 };

interface Lag {
  probeMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function measure(probe: () => Promise<unknown>): Promise<Lag> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  await probe();
  const probeMs = performance.now() - t0;
  h.disable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return { probeMs: Math.round(probeMs), p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
}

/** The old way, in a child process: pdf.js on the measured thread. */
async function inProcessChild(pdf: string): Promise<void> {
  const { probeSource } = await import('../shared/render/source-probe.ts');
  await probeSource(pdf, 'application/pdf', limits); // warm: modules loaded, like a running ingest
  process.stdout.write(JSON.stringify(await measure(() => probeSource(pdf, 'application/pdf', limits))));
}

function inProcess(pdf: string): Promise<Lag> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--in-process', pdf], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Lag) : reject(new Error(`in-process probe exited ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchProbeLag(): Promise<Record<string, unknown>> {
  const { createSourceProber } = await import('../shared/render/probe.ts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-probe-lag-'));
  const pdf = path.join(dir, 'big.pdf');
  writeFileSync(pdf, bigPdf(MB));
  const prober = createSourceProber({ workers: 1, memoryMb: 4096, timeoutMs: 600_000 });
  try {
    await prober.probe(pdf, 'application/pdf', limits); // renderer started and warm, as in a running ingest
    const sandboxed: Lag[] = [];
    const onThread: Lag[] = [];
    for (let i = 0; i < RUNS; i++) {
      sandboxed.push(await measure(() => prober.probe(pdf, 'application/pdf', limits)));
      onThread.push(await inProcess(pdf));
    }
    const summary = (runs: Lag[]) => ({
      p99Ms: median(runs.map((r) => r.p99Ms)),
      maxMs: median(runs.map((r) => r.maxMs)),
      probeMs: median(runs.map((r) => r.probeMs)),
      runs,
    });
    const a = summary(sandboxed);
    const b = summary(onThread);
    return {
      pdfMb: Math.round(readFileSync(pdf).length / 1048576),
      note: 'event-loop delay of the probing process (monitorEventLoopDelay, 5 ms resolution), median of runs',
      sandboxed: a,
      pdfjsOnEventLoop: b,
      targetP99Ms: 50,
      meetsTarget: a.p99Ms < 50,
    };
  } finally {
    await prober.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const i = process.argv.indexOf('--in-process');
  if (i >= 0) await inProcessChild(process.argv[i + 1]);
  else {
    const result = await benchProbeLag();
    console.log(JSON.stringify(result, null, 2));
    // Its own key in bench/results.json, leaving the other benchmarks' results as they are.
    const file = new URL('./results.json', import.meta.url);
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      // no results yet
    }
    all.ingestProbeLag = { date: new Date().toISOString(), node: process.version, ...result };
    writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
  }
}
