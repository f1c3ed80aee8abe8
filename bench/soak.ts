// Soak: memory over thousands of jobs. The four services run as separate processes (each its own
// `services/<name>/main.ts`, as `npm run start:<name>` runs them) on one nats-server, with the CPU
// engine. A mix of small jobs goes through — single images, multi-page PDFs with and without a text
// layer, bad inputs that are refused at upload, jobs cancelled right after upload — while one
// service at a time is SIGKILLed and restarted (ingest → rasterizer → ocr → assembler → …). The RSS
// of every process (each service with its child processes, and nats-server) is read from /proc
// every few seconds. The services run compiled (dist/, built first as `npm start` does).
//
// Reported per process: RSS after warm-up (the first WARMUP jobs) and its growth per 1,000 jobs,
// a linear fit of RSS against jobs ended with one intercept per process lifetime (a restarted
// service starts low again; only the slope within a lifetime is memory growth), each lifetime's
// own first RESTART_WARMUP jobs left out, as a % of the post-warm-up level. And jobs by outcome:
// every accepted job must end (`notEnded` counts those that did not).
//
// Beside RSS, what each process holds as live data, so retained data and caches can be told from
// leaks: V8's heap in use for the services (from their /metrics), Go's live heap after GC for
// nats-server (GODEBUG=gctrace=1), and what JetStream keeps (/jsz: messages, bytes, subjects and
// interior deletes per stream) and the bytes in each stream's open block, which nats-server 2.9
// caches while it is read. `lateHalfGrowthPctPer1000Jobs` is the same fit over the second half of
// the run only (a process still filling caches levels off there). BENCH_SOAK_TRACE=<file> appends
// every sample as a JSON line. BENCH_SOAK_KILL_S=100000 runs without kills.
//
// Opt-in (`npm run bench -- soak`, not in the default run): 3,000 jobs took 19 minutes on 2 shared cores at load 23-25.
// BENCH_SOAK_JOBS sets the count (300 for a quick run), BENCH_SOAK_KILL_S the kill period,
// BENCH_SOAK_MAX_S a time bound, BENCH_SOAK_RESULT_TTL_S the services' FOLIO_RESULT_TTL_S.
// Alone: `node --import tsx bench/soak.ts`.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { freePort } from '../test/helpers/nats-server.ts';
import { makePdf } from '../test/helpers/make-pdf.ts';
import { ROOT, startServiceProcess, type ServiceName, type ServiceProcess } from '../test/helpers/service-process.ts';
import { JobWatcher, machineLoad, round, sleep, tmpDir } from './lib.ts';

const JOBS = Number(process.env.BENCH_SOAK_JOBS ?? 3000);
/** Stop starting jobs after this long (a bound for a loaded machine; the report says how many ran). */
const MAX_S = Number(process.env.BENCH_SOAK_MAX_S ?? Infinity);
const KILL_EVERY_S = Number(process.env.BENCH_SOAK_KILL_S ?? 100);
const SAMPLE_EVERY_MS = 3000;
const WARMUP = Math.min(500, Math.round(JOBS / 6));
/** Jobs after a restart before that process's samples count (it loads code, models, caches). */
const RESTART_WARMUP = Math.min(150, Math.round(JOBS / 20));
/** Clients, each with one job at a time (ingest lets a tenant have 8 uploads at once). */
const CLIENTS = Number(process.env.BENCH_SOAK_CLIENTS ?? 8);
/** A file to append every sample to, one JSON line each (BENCH_SOAK_TRACE), for looking at the curves. */
const TRACE = process.env.BENCH_SOAK_TRACE;
const SERVICES: Exclude<ServiceName, 'all'>[] = ['ingest', 'rasterizer', 'ocr', 'assembler'];

type Kind = 'image' | 'textPdf' | 'scanPdf' | 'bad' | 'cancel';
/** Ten jobs in a row: 3 images, 3 text-layer PDFs, 1 scanned PDF, 2 refused, 1 cancelled. */
const MIX: Kind[] = ['image', 'textPdf', 'bad', 'image', 'textPdf', 'scanPdf', 'image', 'cancel', 'textPdf', 'bad'];

/** A small line of text as an image (varied per job: the result cache must not answer it). */
async function lineImage(text: string, format: 'png' | 'jpeg'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="560" height="120"><rect width="100%" height="100%" fill="white"/><text x="16" y="72" font-size="34" font-family="sans-serif">${text}</text></svg>`;
  const img = sharp(Buffer.from(svg)).flatten({ background: '#fff' }).greyscale();
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 85 }).toBuffer();
}

/** A PDF of small pages that are only a JPEG each (a scan: no text layer). */
function imagePdf(jpegs: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let size = 0;
  const push = (b: Buffer | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    parts.push(buf);
    size += buf.length;
  };
  const obj = (n: number, body: (Buffer | string)[]) => {
    offsets[n] = size;
    push(`${n} 0 obj\n`);
    for (const b of body) push(b);
    push('\nendobj\n');
  };
  push('%PDF-1.4\n');
  const kids = jpegs.map((_, i) => `${3 + i * 3} 0 R`).join(' ');
  obj(1, ['<< /Type /Catalog /Pages 2 0 R >>']);
  obj(2, [`<< /Type /Pages /Kids [${kids}] /Count ${jpegs.length} >>`]);
  jpegs.forEach((jpeg, i) => {
    const [page, content, image] = [3 + i * 3, 4 + i * 3, 5 + i * 3];
    const draw = 'q 280 0 0 60 0 0 cm /Im0 Do Q';
    obj(page, [`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 280 60] /Resources << /XObject << /Im0 ${image} 0 R >> >> /Contents ${content} 0 R >>`]);
    obj(content, [`<< /Length ${draw.length} >>\nstream\n${draw}\nendstream`]);
    obj(image, [
      `<< /Type /XObject /Subtype /Image /Width 560 /Height 120 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`,
      jpeg,
      '\nendstream',
    ]);
  });
  const count = 3 + jpegs.length * 3;
  const xref = size;
  push(`xref\n0 ${count}\n0000000000 65535 f \n`);
  for (let n = 1; n < count; n++) push(`${String(offsets[n]).padStart(10, '0')} 00000 n \n`);
  push(`trailer\n<< /Size ${count} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

async function jobFile(i: number, kind: Kind): Promise<{ file: Buffer; name: string }> {
  const words = (p: number) => `Soak job ${i} page ${p}: invoice ${(i * 7919) % 100_000}`;
  switch (kind) {
    case 'image':
      return { file: await lineImage(words(1), 'png'), name: `soak-${i}.png` };
    case 'textPdf':
      return { file: makePdf([1, 2, 3].map(words)), name: `soak-${i}.pdf` };
    case 'scanPdf':
    case 'cancel':
      return { file: imagePdf(await Promise.all([1, 2].map((p) => lineImage(words(p), 'jpeg')))), name: `soak-${i}.pdf` };
    case 'bad':
      // Alternately: bytes of no known type, and a PDF cut off after its header.
      return i % 20 < 10
        ? { file: Buffer.from(`not a document ${i} `.repeat(40)), name: `soak-${i}.bin` }
        : { file: Buffer.from(`%PDF-1.4\n1 0 obj\n<< /Type /Catalog`), name: `soak-${i}.pdf` };
  }
}

/** One stream's state as nats-server's monitoring endpoint (/jsz) tells it. */
interface StreamState {
  messages: number;
  bytes: number;
  subjects: number;
  deleted: number;
}

interface MonitoredNats {
  url: string;
  pid: number;
  /**
   * Bytes in each stream's last (open) block file. nats-server 2.9 holds a block's messages in
   * memory while it is read (blocks of 4 MB for KV buckets, 8 MB for streams and the object store),
   * so a stream whose open block is still filling adds to RSS until the block rolls over.
   */
  openBlockBytes(): number;
  /** Go's live heap after the last GC (from GODEBUG=gctrace=1 on stderr), bytes. */
  goHeapLive(): number | undefined;
  /** Every stream's state, by name. */
  streams(): Promise<Record<string, StreamState>>;
  destroy(): Promise<void>;
}

/**
 * nats-server as the test helper starts it, plus its monitoring port (/jsz: what each stream holds)
 * and Go's GC trace (the live heap after each collection): RSS alone cannot tell data JetStream
 * keeps from memory Go has not returned to the OS.
 */
async function startMonitoredNats(): Promise<MonitoredNats> {
  const [port, monitor] = [await freePort(), await freePort()];
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'folio-soak-nats-'));
  // BENCH_SOAK_NATS_PROFILE=<port>: Go's pprof there (/debug/pprof/heap?debug=1 reads as text).
  const profile = process.env.BENCH_SOAK_NATS_PROFILE ? ['--profile', process.env.BENCH_SOAK_NATS_PROFILE] : [];
  const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', storeDir, ...profile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GODEBUG: 'gctrace=1' },
  });
  let heapLive: number | undefined;
  let tail = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    tail += chunk;
    const lines = tail.split('\n');
    tail = lines.pop()!;
    // "gc 12 @3.4s 1%: ... ms cpu, 4->4->2 MB, 5 MB goal, ...": the third figure is what survived.
    for (const line of lines) {
      const m = /(\d+)->(\d+)->(\d+) MB/.exec(line);
      if (m) heapLive = Number(m[3]) * 2 ** 20;
    }
  });
  const monitorUrl = `http://127.0.0.1:${monitor}`;
  for (const until = Date.now() + 10_000; ;) {
    if (
      await fetch(`${monitorUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > until) throw new Error('nats-server did not start');
    await sleep(50);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: proc.pid!,
    goHeapLive: () => heapLive,
    openBlockBytes() {
      const streamsDir = path.join(storeDir, 'jetstream', '$G', 'streams');
      let total = 0;
      try {
        for (const stream of readdirSync(streamsDir)) {
          const msgs = path.join(streamsDir, stream, 'msgs');
          const last = readdirSync(msgs)
            .filter((f) => /^\d+\.blk$/.test(f))
            .sort((a, b) => parseInt(b) - parseInt(a))[0];
          if (last) total += statSync(path.join(msgs, last)).size;
        }
      } catch {}
      return total;
    },
    async streams() {
      type Jsz = {
        account_details?: Array<{
          stream_detail?: Array<{ name: string; state: { messages: number; bytes: number; num_subjects?: number; num_deleted?: number } }>;
        }>;
      };
      const jsz = (await (await fetch(`${monitorUrl}/jsz?streams=true`)).json()) as Jsz;
      const out: Record<string, StreamState> = {};
      for (const acc of jsz.account_details ?? []) {
        for (const st of acc.stream_detail ?? [])
          out[st.name] = { messages: st.state.messages, bytes: st.state.bytes, subjects: st.state.num_subjects ?? 0, deleted: st.state.num_deleted ?? 0 };
      }
      return out;
    },
    async destroy() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** V8's heap in use and its external memory (Buffers, canvases' JS-visible bytes) from a service's /metrics. */
async function v8Memory(metricsUrl: string): Promise<{ heapUsed: number; external: number } | undefined> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const num = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? NaN);
    return { heapUsed: num('nodejs_heap_size_used_bytes'), external: num('nodejs_external_memory_bytes') };
  } catch {
    return undefined;
  }
}

function rssOne(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** RSS of a process with its descendants (the rasterizer's renderer process, ingest's probe children). */
function rssOf(root: number): number | undefined {
  const own = rssOne(root);
  if (own === undefined) return undefined;
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      parent.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ').at(-1)!.split(' ')[1]));
    } catch {}
  }
  let total = own;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    for (const [child, ppid] of parent) {
      if (ppid !== pid) continue;
      total += rssOne(child) ?? 0;
      queue.push(child);
    }
  }
  return total;
}

interface Sample {
  at: number;
  jobs: number;
  rss: number;
  /** Which lifetime of the process (0 = first; +1 per restart). */
  life: number;
  /** nats-server: Go's live heap after its last GC; a service: V8's heap in use. */
  heap?: number;
  /** A service: V8's external memory (Buffers). */
  external?: number;
  /** nats-server: the bytes in every stream's open block (see MonitoredNats.openBlockBytes). */
  openBlocks?: number;
}

/**
 * Growth in bytes per job: least squares with one intercept per lifetime and a common slope
 * (within-lifetime covariance over within-lifetime variance).
 */
function slopePerJob(samples: Sample[], value: (s: Sample) => number | undefined = (s) => s.rss): number {
  let cov = 0;
  let vx = 0;
  for (const life of new Set(samples.map((s) => s.life))) {
    const xs = samples.filter((s) => s.life === life && Number.isFinite(value(s)));
    if (xs.length < 2) continue;
    const mx = xs.reduce((a, s) => a + s.jobs, 0) / xs.length;
    const my = xs.reduce((a, s) => a + value(s)!, 0) / xs.length;
    for (const s of xs) {
      cov += (s.jobs - mx) * (value(s)! - my);
      vx += (s.jobs - mx) ** 2;
    }
  }
  return vx > 0 ? cov / vx : 0;
}

const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

/** The lowest heap sample in each quarter of the samples' job range. */
function quarterFloors(samples: Sample[]): number[] {
  const withHeap = samples.filter((s) => s.heap !== undefined);
  if (withHeap.length === 0) return [];
  const lo = Math.min(...withHeap.map((s) => s.jobs));
  const span = Math.max(...withHeap.map((s) => s.jobs)) - lo || 1;
  const floors = [Infinity, Infinity, Infinity, Infinity];
  for (const s of withHeap) {
    const q = Math.min(3, Math.floor(((s.jobs - lo) / span) * 4));
    floors[q] = Math.min(floors[q], s.heap!);
  }
  return floors.filter(Number.isFinite);
}
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

export async function benchSoak(): Promise<Record<string, unknown>> {
  // As `npm start` does first (prestart).
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const t0 = performance.now();
  const loadStart = machineLoad();
  const nats = await startMonitoredNats();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    FOLIO_ENGINE: 'cpu',
    FOLIO_CPU_WORKERS: '2',
    FOLIO_RATE_LIMIT_MAX: '0',
    FOLIO_HTTP_HOST: '127.0.0.1',
    FOLIO_HTTP_PORT: String(port),
    FOLIO_TMP_DIR: tmpDir(),
    FOLIO_RETRY_BASE_MS: '500',
    // How long finished jobs and results stay in JetStream (default 7 days): what nats-server holds grows with it.
    ...(process.env.BENCH_SOAK_RESULT_TTL_S ? { FOLIO_RESULT_TTL_S: process.env.BENCH_SOAK_RESULT_TTL_S } : {}),
    LOG_LEVEL: 'warn',
  };
  const procs = new Map<string, ServiceProcess>();
  const lives = new Map<string, number>([['nats-server', 0]]);
  // Where each service's Prometheus metrics are (V8 heap and external memory): ingest on its HTTP port, the others on their own.
  const metricsUrl = new Map<string, string>([['ingest', `${url}/metrics`]]);
  const metricsPort = new Map<string, string>();
  for (const s of SERVICES.filter((x) => x !== 'ingest')) {
    const p = await freePort();
    metricsPort.set(s, String(p));
    metricsUrl.set(s, `http://127.0.0.1:${p}/metrics`);
  }
  const start = async (service: Exclude<ServiceName, 'all'>) => {
    // The compiled entry, as `npm run start:<service>` runs it (under tsx, its transform alone holds ~300 MB more).
    const args = [`dist/services/${service}/main.js`];
    const own: Record<string, string> = metricsPort.has(service) ? { FOLIO_METRICS_PORT: metricsPort.get(service)! } : {};
    procs.set(
      service,
      await startServiceProcess({ service, args, env: { ...env, ...own, LOG_LEVEL: 'info' }, label: `soak-${service}`, readyTimeoutMs: 120_000 }),
    );
    lives.set(service, (lives.get(service) ?? -1) + 1);
  };
  for (const s of SERVICES) await start(s);
  const watcher = await JobWatcher.start(nats.url);

  const outcomes: Record<string, number> = { completed: 0, partial: 0, failed: 0, cancelled: 0, refused: 0, notEnded: 0 };
  const byKind: Record<string, Record<string, number>> = {};
  const count = (kind: Kind, outcome: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    (byKind[kind] ??= {})[outcome] = (byKind[kind][outcome] ?? 0) + 1;
  };
  let ended = 0;
  let uploadRetries = 0;
  const samples = new Map<string, Sample[]>();
  const streamsSeen: Array<{ at: number; jobs: number; streams: Record<string, StreamState> }> = [];
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const at = Math.round((performance.now() - t0) / 1000);
      const jobs = ended;
      const pids: Array<[string, number]> = [['nats-server', nats.pid], ...SERVICES.map((s): [string, number] => [s, procs.get(s)!.pid])];
      const heaps = await Promise.all(pids.map(([name]) => (name === 'nats-server' ? undefined : v8Memory(metricsUrl.get(name)!))));
      const streams = await nats.streams().catch(() => undefined);
      if (streams) streamsSeen.push({ at, jobs, streams });
      pids.forEach(([name, pid], i) => {
        const rss = rssOf(pid);
        if (rss === undefined || (name !== 'nats-server' && !procs.get(name)?.running())) return;
        const heap = name === 'nats-server' ? nats.goHeapLive() : heaps[i]?.heapUsed;
        const s: Sample = {
          at,
          jobs,
          rss,
          life: lives.get(name)!,
          heap,
          external: heaps[i]?.external,
          ...(name === 'nats-server' ? { openBlocks: nats.openBlockBytes() } : {}),
        };
        (samples.get(name) ?? samples.set(name, []).get(name)!).push(s);
        if (TRACE) appendFileSync(TRACE, JSON.stringify({ name, ...s }) + '\n');
      });
      if (TRACE && streams) appendFileSync(TRACE, JSON.stringify({ name: 'streams', at, jobs, streams }) + '\n');
    } finally {
      sampling = false;
    }
  };
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);

  // The chaos: one service at a time, in turn, killed without warning and started again.
  const kills: Array<{ at: number; service: string; jobsEnded: number; restartS: number }> = [];
  const cpuMsOfKilled = new Map<string, number>();
  let stopChaos = false;
  const chaos = (async () => {
    for (let k = 0; !stopChaos; k++) {
      for (let waited = 0; waited < KILL_EVERY_S * 1000 && !stopChaos; waited += 500) await sleep(500);
      if (stopChaos) break;
      const service = SERVICES[k % SERVICES.length];
      const at = Math.round((performance.now() - t0) / 1000);
      cpuMsOfKilled.set(service, (cpuMsOfKilled.get(service) ?? 0) + procs.get(service)!.cpuMs());
      await procs.get(service)!.kill('SIGKILL');
      const r0 = performance.now();
      await start(service);
      kills.push({ at, service, jobsEnded: ended, restartS: round((performance.now() - r0) / 1000, 1) });
      process.stderr.write(`  soak: killed and restarted ${service} at ${at}s (${ended} jobs ended)\n`);
    }
  })();

  /** Uploads until ingest answers (it may be down for a restart): the status and body, or null for a refusal. */
  const upload = async (file: Buffer, name: string): Promise<{ status: number; id?: string }> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(file)]), name);
        const res = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
        const body = (await res.json().catch(() => ({}))) as { id?: string };
        if (res.status === 429 || res.status === 503) throw new Error(`answered ${res.status}`);
        return { status: res.status, id: body.id };
      } catch (err) {
        if (attempt > 200) throw err;
        uploadRetries++;
        await sleep(500);
      }
    }
  };
  const cancel = async (id: string) => {
    for (let attempt = 0; attempt < 60; attempt++) {
      try {
        const res = await fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' });
        if (res.status < 500) return;
      } catch {}
      await sleep(500);
    }
  };
  /** Ends from the events, or (an event missed while nothing listened, e.g. a cache hit) from the status route. */
  const finish = async (id: string): Promise<string> => {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const kind = await Promise.race([watcher.wait(id, 15_000).catch(() => undefined), sleep(15_000).then(() => undefined)]);
      if (kind) return kind;
      try {
        const res = await fetch(`${url}/v1/jobs/${id}`);
        const job = res.ok ? ((await res.json()) as { status: string }) : undefined;
        if (job && ['completed', 'partial', 'failed', 'cancelled'].includes(job.status)) return job.status;
      } catch {}
      if (Date.now() > deadline) return 'notEnded';
    }
  };

  let next = 0;
  let started = 0;
  let warmAt = 0;
  const progressEvery = Math.max(50, Math.round(JOBS / 20));
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < JOBS && performance.now() - t0 < MAX_S * 1000; i = next++) {
        started++;
        const kind = MIX[i % MIX.length];
        const { file, name } = await jobFile(i, kind);
        const res = await upload(file, name);
        const done = (outcome: string) => {
          count(kind, outcome);
          ended++;
          if (ended === WARMUP) warmAt = Math.round((performance.now() - t0) / 1000);
          if (ended % progressEvery === 0) process.stderr.write(`  soak: ${ended}/${JOBS} jobs ended at ${Math.round((performance.now() - t0) / 1000)}s\n`);
        };
        if (res.status >= 400 && res.status < 500) {
          done('refused');
          continue;
        }
        if (!res.id) throw new Error(`upload of ${name} answered ${res.status} without a job id`);
        if (kind === 'cancel') await cancel(res.id);
        done(await finish(res.id));
      }
    }),
  );
  stopChaos = true;
  await chaos;
  clearInterval(sampler);
  await sample();
  const seconds = (performance.now() - t0) / 1000;
  const loadEnd = machineLoad();

  const processes: Record<string, unknown> = {};
  for (const [name, all] of samples) {
    const firstJobs = new Map<number, number>();
    for (const s of all) if (!firstJobs.has(s.life)) firstJobs.set(s.life, s.jobs);
    // Past the global warm-up, and past this lifetime's own warm-up after a restart.
    const post = all.filter((s) => s.jobs >= WARMUP && (s.life === 0 || s.jobs >= firstJobs.get(s.life)! + RESTART_WARMUP));
    const level = post.length ? post.reduce((a, s) => a + s.rss, 0) / post.length : NaN;
    const slope = slopePerJob(post);
    // The same fit over the run's second half only: a process still filling caches early on
    // (nats-server's open blocks, V8's old space) shows a smaller slope there if it levels off.
    const late = post.filter((s) => s.jobs >= (ended + WARMUP) / 2);
    const lateSlope = slopePerJob(late);
    // What the process holds as live data: V8's heap in use (services) or Go's heap after GC (nats-server).
    const heapSlope = slopePerJob(post, (s) => s.heap);
    const heaps = post.map((s) => s.heap).filter((h): h is number => h !== undefined);
    const natsOnly =
      name === 'nats-server'
        ? {
            openBlocksMbAtEnd: mb(all.at(-1)?.openBlocks ?? NaN),
            openBlocksGrowthMbPer1000Jobs: round((slopePerJob(post, (s) => s.openBlocks) * 1000) / 2 ** 20, 2),
            // Go's live heap less the open blocks it caches: what grows beyond JetStream's block caches.
            heapBeyondOpenBlocksGrowthMbPer1000Jobs: round(
              (slopePerJob(post, (s) => (s.heap === undefined || s.openBlocks === undefined ? undefined : s.heap - s.openBlocks)) * 1000) / 2 ** 20,
              2,
            ),
          }
        : {};
    processes[name] = {
      rssAfterWarmupMb: mb(level),
      peakRssMb: mb(Math.max(...all.map((s) => s.rss))),
      growthMbPer1000Jobs: round((slope * 1000) / 2 ** 20, 2),
      growthPctPer1000Jobs: round(((slope * 1000) / level) * 100, 2),
      lateHalfGrowthPctPer1000Jobs: late.length > 2 ? round(((lateSlope * 1000) / mean(late.map((s) => s.rss))) * 100, 2) : undefined,
      heapAfterWarmupMb: heaps.length ? mb(mean(heaps)) : undefined,
      heapGrowthMbPer1000Jobs: heaps.length ? round((heapSlope * 1000) / 2 ** 20, 2) : undefined,
      // The heap is sampled between collections (a sawtooth over hundreds of jobs), so its slope is
      // noisy: the lowest heap in each quarter of the run after warm-up is the floor after a major
      // GC, and a floor that keeps rising is what retained data looks like.
      heapFloorsMb: heaps.length ? quarterFloors(post).map(mb) : undefined,
      ...natsOnly,
      samples: post.length,
      restarts: lives.get(name),
      cpuMsPerJob: name === 'nats-server' ? undefined : round(((cpuMsOfKilled.get(name) ?? 0) + procs.get(name)!.cpuMs()) / started, 1),
    };
  }
  await watcher.close();
  for (const p of procs.values()) await p.kill('SIGTERM');
  await nats.destroy();
  const growth = Object.values(processes).map((p) => (p as { growthPctPer1000Jobs: number }).growthPctPer1000Jobs);
  // What JetStream holds at the end, by stream: retained by design for FOLIO_RESULT_TTL_S (objects, KV, events) or empty (work queues).
  const streamsAtEnd = Object.fromEntries(Object.entries(streamsSeen.at(-1)?.streams ?? {}).map(([k, v]) => [k, { ...v, bytes: undefined, mb: mb(v.bytes) }]));
  return {
    jobs: started,
    jobsAsked: JOBS,
    warmupJobs: WARMUP,
    restartWarmupJobs: RESTART_WARMUP,
    mix: MIX,
    cpuWorkers: Number(env.FOLIO_CPU_WORKERS),
    sampleEveryS: SAMPLE_EVERY_MS / 1000,
    killEveryS: KILL_EVERY_S,
    seconds: round(seconds, 1),
    warmupEndedAtS: warmAt,
    jobsPerS: round(started / seconds),
    outcomes,
    byKind,
    uploadRetries,
    kills,
    processes,
    streamsAtEnd,
    maxGrowthPctPer1000Jobs: Math.max(...growth),
    load: { start: loadStart, end: loadEnd },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchSoak(), null, 2));
  process.exit(0);
}
