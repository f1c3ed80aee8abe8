// Rasterizer against poppler's `pdftoppm -r 144 -png`, like for like: the same 50 pages (doc10 and
// scan10 each joined five times with pdfunite), the same DPI and the same output format (PNG: the
// rasterizer makes nothing else; `pdftoppm` without -png, PPM, is reported beside it as rendering
// alone). Both run as one process over the 50 pages: "whole run" counts start-up for both (spawn to
// exit), "steady state" is time per page once started (ours: after the first page; pdftoppm: the
// 50-page run minus a 1-page run, ÷ 49). Ratio = pdftoppm time ÷ ours (> 1: we are faster). Peak RSS
// is also measured on a 500-page scanned PDF (scan10 × 50). Each run is a fresh process, so peak RSS is
// that render's own: the service process plus its renderer process (pdf.js runs only there). Ours
// runs compiled (`npm run build`, bench/rasterizer-child.mjs on plain node), as `npm start` does:
// under tsx, tsx transforming pdf.js's 3 MB of modules alone costs ~320 MB.
// Alone: `node --import tsx bench/rasterizer.ts` prints JSON.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DPI = 144;
const RUNS = 1;
/** pdftoppm -png takes ~1.6–3 s a scanned page (zlib): one run of 50 such pages is 80–150 s. */
const SCAN_RUNS = 1;
const SELF = fileURLToPath(import.meta.url);
const CHILD = fileURLToPath(new URL('./rasterizer-child.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));

interface Run {
  ms: number;
  /** Spawn to exit, start-up included. */
  wallMs?: number;
  pages: number;
  peakRssMb: number | null;
  firstPageMs?: number;
  baselineRssMb?: number;
}

function runProcess(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

async function ours(pdf: string): Promise<Run> {
  const t0 = performance.now();
  const r = await runProcess(process.execPath, [CHILD, pdf, String(DPI)]);
  const wallMs = performance.now() - t0;
  if (r.code !== 0) throw new Error(`our renderer failed on ${pdf}: ${r.stderr.slice(-500)}`);
  return { ...(JSON.parse(r.stdout) as Run), wallMs };
}

/** pdfunite's copies of a fixture, `times` over, in a temp folder. */
function joined(name: string, times: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-bench-pdf-'));
  const out = path.join(dir, `${name.replace('.pdf', '')}x${times}.pdf`);
  const r = spawnSync('pdfunite', [...Array.from({ length: times }, () => fixture(name)), out]);
  if (r.status !== 0) throw new Error(`pdfunite failed: ${r.stderr}`);
  return out;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = () => spawnSync(GNU_TIME, ['-f', '%M', 'true']).status === 0;

async function pdftoppm(pdf: string, measureRss: boolean, format: 'png' | 'ppm' = 'png', lastPage?: number): Promise<Run> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'folio-pdftoppm-'));
  try {
    const args = ['-r', String(DPI), ...(format === 'png' ? ['-png'] : []), ...(lastPage ? ['-f', '1', '-l', String(lastPage)] : []), pdf, path.join(out, 'p')];
    const t0 = performance.now();
    // GNU time prints the child's peak RSS (KiB) as the last stderr line: the only way to see a
    // grandchild's rusage from Node.
    const r = measureRss ? await runProcess(GNU_TIME, ['-f', '%M', 'pdftoppm', ...args]) : await runProcess('pdftoppm', args);
    const ms = performance.now() - t0;
    if (r.code !== 0) throw new Error(`pdftoppm failed on ${pdf}: ${r.stderr.slice(-500)}`);
    const peakKb = measureRss ? Number(r.stderr.trim().split('\n').pop()) : NaN;
    return { ms, pages: readdirSync(out).length, peakRssMb: Number.isFinite(peakKb) ? peakKb / 1024 : null };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** pdftoppm's path, installing poppler-utils when we are root; otherwise why it is unavailable. */
function ensurePdftoppm(): { ok: true } | { ok: false; reason: string } {
  const found = () => spawnSync('pdftoppm', ['-v']).error === undefined;
  if (found()) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'pdftoppm not installed and not root (apt-get install poppler-utils)' };
  const apt = (...args: string[]) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  let r = apt('install', '-y', '--no-install-recommends', 'poppler-utils');
  if (r.status !== 0) {
    apt('update'); // a fresh image has no package lists yet
    r = apt('install', '-y', '--no-install-recommends', 'poppler-utils');
  }
  if (found()) return { ok: true };
  return {
    ok: false,
    reason: `apt-get install poppler-utils failed: ${String(r.stderr ?? r.error)
      .trim()
      .slice(-300)}`,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

function summarise(runs: Run[]) {
  const ms = median(runs.map((r) => r.ms));
  const rss = runs.map((r) => r.peakRssMb).filter((v): v is number => v !== null);
  const first = runs.map((r) => r.firstPageMs).filter((v): v is number => v !== undefined);
  const baseline = runs.map((r) => r.baselineRssMb).filter((v): v is number => v !== undefined);
  return {
    pages: runs[0].pages,
    medianMs: round(ms, 0),
    pagesPerSec: round((runs[0].pages * 1000) / ms),
    peakRssMb: rss.length > 0 ? round(Math.max(...rss), 0) : null,
    ...(first.length > 0 ? { firstPageMs: round(median(first), 0) } : {}),
    ...(baseline.length > 0 ? { rssBeforeRenderMb: round(median(baseline), 0) } : {}),
  };
}

export async function benchRasterizer(): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { dpi: DPI, note: 'median of fresh-process runs; ratio = pdftoppm time ÷ ours (> 1: ours faster)' };
  const poppler = ensurePdftoppm();
  const measureRss = hasGnuTime();
  if (!poppler.ok) return { ...result, skipped: poppler.reason };
  spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  result.pdftoppmVersion = spawnSync('pdftoppm', ['-v'], { encoding: 'utf8' }).stderr.split('\n')[0];
  // Scanned pages: 10 (scan10 itself), since pdftoppm -png spends ~3 s on each one here.
  for (const [name, runs, times] of [
    ['doc10.pdf', RUNS, 5],
    ['scan10.pdf', SCAN_RUNS, 1],
  ] as const) {
    const pdf = joined(name, times);
    const oursRuns: Run[] = [];
    const pngRuns: Run[] = [];
    // Interleaved, so drift in the machine's load hits both sides alike.
    for (let i = 0; i < runs; i++) {
      oursRuns.push(await ours(pdf));
      pngRuns.push(await pdftoppm(pdf, measureRss, 'png'));
    }
    const onePng = await pdftoppm(pdf, false, 'png', 1);
    const ppm = await pdftoppm(pdf, false, 'ppm');
    const onePpm = await pdftoppm(pdf, false, 'ppm', 1);
    const pages = oursRuns[0].pages;
    const ourWall = median(oursRuns.map((r) => r.wallMs!));
    const ourSteady = median(oursRuns.map((r) => (r.ms - (r.firstPageMs ?? 0)) / (r.pages - 1)));
    const pngWall = median(pngRuns.map((r) => r.ms));
    const pngSteady = (pngWall - onePng.ms) / (pages - 1);
    result[`${name.replace('10.pdf', '')}${pages}`] = {
      pages,
      ours: { ...summarise(oursRuns), wholeRunMs: round(ourWall, 0), steadyMsPerPage: round(ourSteady, 1) },
      pdftoppmPng: { ...summarise(pngRuns), wholeRunMs: round(pngWall, 0), steadyMsPerPage: round(pngSteady, 1) },
      pdftoppmPpm: {
        wholeRunMs: round(ppm.ms, 0),
        steadyMsPerPage: round((ppm.ms - onePpm.ms) / (pages - 1), 1),
        note: 'rendering alone, no compression: a different output, for reference',
      },
      wholeRunRatio: round(pngWall / ourWall),
      steadyRatio: round(pngSteady / ourSteady),
      target: 'ours ≤ 1.0 × pdftoppm time (ratio ≥ 1)',
    };
    process.stderr.write(`  ${name}×5 ${JSON.stringify(result[`${name.replace('10.pdf', '')}${pages}`])}\n`);
  }
  // Peak memory on a 500-page scanned PDF: the service process plus its renderer process.
  const big = joined('scan10.pdf', 50);
  const r500 = await ours(big);
  result.scan500 = {
    pages: r500.pages,
    seconds: round(r500.ms / 1000, 1),
    peakRssMb: round(r500.peakRssMb ?? 0, 0),
    rssBeforeRenderMb: round(r500.baselineRssMb ?? 0, 0),
    rendererPeakRssMb: round((r500 as Run & { rendererPeakRssMb?: number }).rendererPeakRssMb ?? 0, 0),
  };
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  console.log(JSON.stringify(await benchRasterizer(), null, 2));
}
