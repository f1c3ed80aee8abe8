// `npm run bench`: every benchmark in one run, as ratios where a baseline exists (these machines
// are shared and noisy). Results go to bench/results.json and a table to bench/RESULTS.md.
import { writeFileSync } from 'node:fs';
import os from 'node:os';

type Bench = () => Promise<Record<string, unknown>>;
const only = process.argv.slice(2);
const suites: Array<[string, () => Promise<Bench>]> = [
  ['pipeline', async () => (await import('./pipeline.ts')).benchPipeline],
  ['rasterizer', async () => (await import('./rasterizer.ts')).benchRasterizer],
  ['cpuEngine', async () => (await import('./cpu-engine.ts')).benchCpuEngine],
  ['ocrQuality', async () => (await import('./ocr-quality.ts')).benchOcrQuality],
  ['scaleOut', async () => (await import('./scale-out.ts')).benchScaleOut],
  ['ingestProbeLag', async () => (await import('./probe-lag.ts')).benchProbeLag],
];

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 1e9) },
};
for (const [name, load] of suites) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stderr.write(`bench ${name}…\n`);
  try {
    results[name] = await (await load())();
  } catch (err) {
    results[name] = { error: (err as Error).message };
  }
  process.stderr.write(`${JSON.stringify(results[name])}\n`);
}

const out = new URL('./', import.meta.url);
writeFileSync(new URL('results.json', out), JSON.stringify(results, null, 2) + '\n');
const lines = ['# Benchmark results', '', `Run ${results.date} on ${JSON.stringify(results.machine)}.`, ''];
for (const [name, value] of Object.entries(results)) {
  if (name === 'date' || name === 'machine') continue;
  lines.push(`## ${name}`, '', '```json', JSON.stringify(value, null, 2), '```', '');
}
writeFileSync(new URL('RESULTS.md', out), lines.join('\n'));
console.log(JSON.stringify(results, null, 2));
process.exit(0);
