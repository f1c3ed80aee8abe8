// Ingest while a 200 MB PDF streams in: its peak resident memory (sampled from /proc every 20 ms)
// and how long /healthz takes meanwhile (probed every 20 ms: the event loop's lag as a load balancer
// sees it), against a plain stream-to-disk sink with hashing (bench/ingest-sink.mjs).
// Ingest runs as its own process, compiled (`npm run build`, then node dist/…: what `npm start` runs;
// tsx alone adds ~30 MB), and so does the sink (plain JavaScript).
// Alone: `node --import tsx bench/ingest-memory.ts`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bigPdf } from '../test/helpers/hostile-pdf.ts';
import { startNats } from '../test/helpers/nats-server.ts';
import { ROOT, startServiceProcess } from '../test/helpers/service-process.ts';
import { machineLoad, quantile, round, sleep } from './lib.ts';

const MB = 200;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function measure(pid: number, baseUrl: string, route: string, body: Buffer) {
  await sleep(1000); // settled after start-up
  const before = rssMb(pid);
  let peak = before;
  let done = false;
  const lags: number[] = [];
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  const prober = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${baseUrl}/healthz`).then((r) => r.arrayBuffer());
      lags.push(performance.now() - t);
      await sleep(20);
    }
  })();
  const t0 = performance.now();
  // Streamed in 1 MiB chunks, as a client on a fast link sends it.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let o = 0; o < body.length; o += 1 << 20) c.enqueue(new Uint8Array(body.subarray(o, o + (1 << 20))));
      c.close();
    },
  });
  const res = await fetch(`${baseUrl}${route}`, {
    method: 'POST',
    body: stream,
    duplex: 'half',
    headers: { 'content-type': 'application/pdf' },
  } as RequestInit);
  const answer = await res.text();
  const seconds = (performance.now() - t0) / 1000;
  done = true;
  await prober;
  clearInterval(sampler);
  return {
    status: res.status,
    answer: res.status >= 300 ? answer.slice(0, 200) : undefined,
    seconds: round(seconds, 1),
    rssBeforeMb: round(before, 0),
    peakRssMb: round(peak, 0),
    growthMb: round(peak - before, 0),
    healthzP50Ms: round(quantile(lags, 0.5), 1),
    healthzP99Ms: round(quantile(lags, 0.99), 1),
    healthzMaxMs: round(Math.max(...lags), 1),
  };
}

export async function benchIngestMemory(): Promise<Record<string, unknown>> {
  const pdf = bigPdf(MB);
  const out: Record<string, unknown> = { pdfMb: round(pdf.length / 1048576, 0), load: machineLoad() };
  // The comparator.
  const sink: ChildProcess = spawn(process.execPath, ['bench/ingest-sink.mjs'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => sink.stdout!.once('data', (d) => resolve(JSON.parse(String(d)).port)));
    out.plainSink = await measure(sink.pid!, `http://127.0.0.1:${port}`, '/upload', pdf);
  } finally {
    sink.kill('SIGKILL');
  }
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  const nats = await startNats();
  const ingest = await startServiceProcess({
    service: 'ingest',
    args: ['dist/services/ingest/main.js'],
    label: 'bench-ingest',
    env: { NATS_URL: nats.url, FOLIO_HTTP_PORT: '0', FOLIO_RATE_LIMIT_MAX: '0', FOLIO_MAX_UPLOAD_BYTES: String(300 * 1048576), LOG_LEVEL: 'info' },
  });
  try {
    const url =
      /"url":"(http:[^"]+)"[^\n]*"msg":"ingest listening"/.exec(ingest.logs())?.[1] ?? /"msg":"ingest listening"[^\n]*"url":"([^"]+)"/.exec(ingest.logs())?.[1];
    if (!url) throw new Error('no ingest URL in its log');
    out.ingest = await measure(ingest.pid, url, '/v1/jobs', pdf);
  } finally {
    await ingest.kill();
    await nats.destroy();
  }
  const ing = out.ingest as { peakRssMb: number; healthzP99Ms: number; growthMb: number };
  const plain = out.plainSink as { peakRssMb: number; growthMb: number };
  out.peakOverPlainSink = round(ing.peakRssMb / plain.peakRssMb);
  out.target = 'peak RSS < 150 MB, event-loop lag p99 < 50 ms';
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchIngestMemory(), null, 2));
  process.exit(0);
}
