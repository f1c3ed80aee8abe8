// `npm run bench`: every benchmark in one run, as ratios where a baseline exists (these machines
// are shared and noisy). Results go to bench/results.json and a table to bench/RESULTS.md.
// `npm run bench -- plumbing rasterizer` runs only those suites and merges them into the existing
// results.json (the other suites' figures stay, each with its own date).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

type Bench = () => Promise<Record<string, unknown>>;
const only = process.argv.slice(2);
const suites: Array<[string, () => Promise<Bench>]> = [
  ['pipeline', async () => (await import('./pipeline.ts')).benchPipeline],
  ['backends', async () => (await import('./backends.ts')).benchBackends],
  ['plumbing', async () => (await import('./plumbing.ts')).benchPlumbing],
  ['rasterizer', async () => (await import('./rasterizer.ts')).benchRasterizer],
  ['ingestMemory', async () => (await import('./ingest-memory.ts')).benchIngestMemory],
  ['cpuEngine', async () => (await import('./cpu-engine.ts')).benchCpuEngine],
  ['ocrQuality', async () => (await import('./ocr-quality.ts')).benchOcrQuality],
  ['realPages', async () => (await import('./real-pages.ts')).benchRealPages],
  ['scaleOut', async () => (await import('./scale-out.ts')).benchScaleOut],
  ['ingestProbeLag', async () => (await import('./probe-lag.ts')).benchProbeLag],
  ['soak', async () => (await import('./soak.ts')).benchSoak],
];
/** Only when named (`npm run bench -- soak`): its 3,000 jobs took 19 minutes on 2 loaded cores. */
const OPT_IN = new Set(['soak']);

const out = new URL('./', import.meta.url);
const previous =
  only.length > 0 && existsSync(new URL('results.json', out))
    ? (JSON.parse(readFileSync(new URL('results.json', out), 'utf8')) as Record<string, unknown>)
    : {};
const started = performance.now();
const results: Record<string, unknown> = {
  ...previous,
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 1e9) },
};
for (const [name, load] of suites) {
  if (only.length > 0 ? !only.includes(name) : OPT_IN.has(name)) continue;
  process.stderr.write(`bench ${name}…\n`);
  const t0 = performance.now();
  try {
    results[name] = { ...(await (await load())()), ranAt: new Date().toISOString(), suiteSeconds: Math.round((performance.now() - t0) / 1000) };
  } catch (err) {
    results[name] = { error: (err as Error).message, ranAt: new Date().toISOString() };
  }
  process.stderr.write(`${JSON.stringify(results[name])}\n`);
}

if (only.length === 0) results.totalSeconds = Math.round((performance.now() - started) / 1000);
writeFileSync(new URL('results.json', out), JSON.stringify(results, null, 2) + '\n');
const lines = ['# Benchmark results', '', `Run ${results.date} on ${JSON.stringify(results.machine)}.`, ''];
for (const [name, value] of Object.entries(results)) {
  if (name === 'date' || name === 'machine' || name === 'totalSeconds') continue;
  lines.push(`## ${name}`, '', '```json', JSON.stringify(value, null, 2), '```', '');
}
writeFileSync(new URL('RESULTS.md', out), lines.join('\n'));
console.log(JSON.stringify(results, null, 2));
process.exit(0);
