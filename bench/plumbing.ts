// The plumbing ceiling: with an instant backend (the simulator with zero prefill and step time),
// how many small single-image jobs per second the four services carry, in one process and as four
// processes, against a raw JetStream loop with the same hops (job → page → result → event, each a
// publish with a message id, a pull, and an ack) written with the same client on the same server.
// The separate processes run under `node --cpu-prof`: the profile names where the time goes.
// Alone: `node --import tsx bench/plumbing.ts`.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { startNats } from '../test/helpers/nats-server.ts';
import { startServiceProcess, type ServiceProcess } from '../test/helpers/service-process.ts';
import { JobWatcher, machineLoad, round, sleep, startBenchStack, submit, syncOcr, p50 } from './lib.ts';

const CLIENTS = 24;
const WARMUP_S = 3;
const WINDOW_S = Number(process.env.BENCH_PLUMBING_WINDOW_S ?? 12);
const INSTANT = { prefillMs: 0, msPerToken: 0, tokensPerPage: 50, maxNumSeqs: 1000 };

/** A small image with a few words on it (the kind of page a sync call sends). */
export async function smallImage(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="200"><rect width="100%" height="100%" fill="white"/><text x="20" y="110" font-size="40" font-family="sans-serif">Invoice 2024-117, total 42.00</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * CPU used so far (ms, Linux /proc, 100 Hz ticks) by this process with its descendants (renderer
 * and probe processes included), and by the nats-server among them.
 */
function cpuNow(): { total: number; nats: number; self: number } {
  const procs = new Map<number, { ppid: number; ms: number; comm: string }>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const raw = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = raw.split(') ').at(-1)!.split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * 10, comm: raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')')) });
    } catch {}
  }
  let total = 0;
  let nats = 0;
  const queue = [process.pid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const p = procs.get(pid);
    total += p?.ms ?? 0;
    if (p?.comm === 'nats-server') nats += p.ms;
    for (const [child, st] of procs) if (st.ppid === pid) queue.push(child);
  }
  return { total, nats, self: procs.get(process.pid)?.ms ?? 0 };
}

/** Keeps `CLIENTS` jobs in flight (a new one when one ends) and counts those that end in the window. */
async function closedLoop(
  run: (i: number) => Promise<void>,
  natsStats?: () => { inMsgs: number; outMsgs: number },
  onWindow?: (edge: 'start' | 'end') => void,
): Promise<{
  jobsPerS: number;
  jobs: number;
  cpuMsPerJob: { node: number; nodeChildren: number; natsServer: number };
  natsMsgsPerJob?: { in: number; out: number };
  windowUs: [number, number];
}> {
  let stop = false;
  const ends: number[] = [];
  let n = 0;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      await run(n++);
      ends.push(performance.now());
    }
  });
  await sleep(WARMUP_S * 1000);
  const a = performance.now();
  const w0 = Number(process.hrtime.bigint() / 1000n);
  const c0 = cpuNow();
  const s0 = natsStats?.();
  onWindow?.('start');
  await sleep(WINDOW_S * 1000);
  const b = performance.now();
  const w1 = Number(process.hrtime.bigint() / 1000n);
  const c1 = cpuNow();
  const s1 = natsStats?.();
  onWindow?.('end');
  stop = true;
  await Promise.all(clients);
  const jobs = ends.filter((t) => t >= a && t <= b).length;
  // CPU over the window per job ended in it: this process with its children (in one process: the
  // services, the benchmark's client and the simulator), and nats-server on its own.
  const per = Math.max(1, jobs);
  const cpuMsPerJob = {
    node: round((c1.total - c1.nats - (c0.total - c0.nats)) / per, 2),
    // of which child processes (renderers, probes; in separate processes, none: they are not this process's children)
    nodeChildren: round((c1.total - c1.nats - c1.self - (c0.total - c0.nats - c0.self)) / per, 2),
    natsServer: round((c1.nats - c0.nats) / per, 2),
  };
  // Messages the services' connection sent and received per job under load (CAS conflicts and retries included).
  const natsMsgsPerJob = s0 && s1 ? { in: round((s1.inMsgs - s0.inMsgs) / per, 1), out: round((s1.outMsgs - s0.outMsgs) / per, 1) } : undefined;
  return { jobsPerS: round(jobs / ((b - a) / 1000), 1), jobs, cpuMsPerJob, ...(natsMsgsPerJob ? { natsMsgsPerJob } : {}), windowUs: [w0, w1] };
}

const folioEnv = (natsUrl: string, simUrl: string) => ({
  NATS_URL: natsUrl,
  VLLM_BASE_URLS: simUrl,
  FOLIO_RATE_LIMIT_MAX: '0',
  // Raised explicitly: CLIENTS uploads at once (default 8 per tenant).
  FOLIO_MAX_UPLOADS_PER_TENANT: '64',
  FOLIO_OCR_MAX_WINDOW: '64',
  FOLIO_SWEEP_INTERVAL_S: '0',
});

/** What a message on the bus is, by subject: JetStream API calls by kind, KV and object-store traffic, work, acks, replies. */
function kindOf(subject: string): string {
  if (subject.startsWith('$JS.API.')) {
    const [, , , a, b] = subject.split('.');
    return `api ${a}${b === 'INFO' || b === 'MSG' || b === 'CREATE' || b === 'DURABLE' || b === 'DELETE' ? ` ${b}` : ''}`;
  }
  if (subject.startsWith('$JS.ACK.')) return 'ack';
  if (subject.startsWith('$KV.')) return 'kv put';
  if (subject.startsWith('$O.')) return subject.split('.')[2] === 'M' ? 'object meta put' : 'object chunk put';
  if (subject.startsWith('_INBOX')) return 'reply';
  // A work subject without its ids: folio.page.ready, raw.page.
  return subject
    .split('.')
    .slice(0, subject.startsWith('raw.') ? 2 : 3)
    .join('.');
}

/**
 * Messages per job, by kind: `n` jobs one after another with a subscriber on every subject (it
 * sees each message once as the server routes it; idle pull requests are counted too, so the
 * run is short). The same count on the raw loop gives the comparator's figures.
 */
async function countPerJob(natsUrl: string, n: number, run: (i: number) => Promise<void>): Promise<Record<string, unknown>> {
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const counts = new Map<string, number>();
  const sub = nc.subscribe('>');
  void (async () => {
    for await (const m of sub) {
      const k = kindOf(m.subject);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  })();
  await nc.flush();
  try {
    for (let i = 0; i < n; i++) await run(i);
    await nc.flush();
  } finally {
    sub.unsubscribe();
    await nc.close();
  }
  const per = (x: number) => round(x / n, 1);
  const all = [...counts.values()].reduce((a, b) => a + b, 0);
  const api = [...counts.entries()].filter(([k]) => k.startsWith('api ')).reduce((a, [, v]) => a + v, 0);
  const byKind = Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)]));
  return { jobs: n, messagesPerJob: per(all), apiCallsPerJob: per(api), byKind };
}

export async function folioOneProcess(image: Buffer, extra: Record<string, string> = {}, count = false): Promise<Record<string, unknown>> {
  const sim = await startVllmSimulator(INSTANT);
  const nats = await startNats();
  const stack = await startBenchStack({ ...folioEnv(nats.url, sim.url), ...extra });
  const watcher = await JobWatcher.start(nats.url);
  try {
    await watcher.wait(await submit(stack.url, image, 'warm.png'));
    // Latency of one image with nothing else running: Folio's own cost per page, in ms.
    const lat: number[] = [];
    for (let i = 0; i < 9; i++) lat.push(await syncOcr(stack.url, image, `lat${i}.png`));
    const perJob = count
      ? await countPerJob(nats.url, 20, async (i) => void (await watcher.wait(await submit(stack.url, image, `c${i}.png`, { cache: 'bypass' }))))
      : undefined;
    const r = await closedLoop(
      async (i) => void (await watcher.wait(await submit(stack.url, image, `p${i}.png`, { cache: 'bypass' }))),
      () => stack.rt.bus.nc.stats(),
    );
    const { windowUs: _, ...figures } = r;
    return { ...figures, idleSyncP50Ms: round(p50(lat), 1), ...(perJob ? { perJob } : {}) };
  } finally {
    await watcher.close();
    await stack.stop();
    await sim.close();
    await nats.destroy();
  }
}

interface ProfileSummary {
  service: string;
  samplesMs: number;
  busyShare: number;
  topPackages: Array<[string, number]>;
  topFunctions: Array<[string, number]>;
}

/**
 * Self time by package (or project file) and by function, as shares of the process's busy time,
 * counting only the samples inside `window` (monotonic µs, the clock V8's profiler stamps with):
 * start-up (tsx compiling the sources) stays out.
 */
function summariseProfile(file: string, service: string, window?: [number, number]): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    at += dt;
    if (!window || (at >= window[0] && at <= window[1])) self.set(id, (self.get(id) ?? 0) + dt);
  });
  const pkg = new Map<string, number>();
  const fn = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') continue;
    busy += us;
    const url = cf.url.replace(/^file:\/\//, '');
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const where = m ? m[1] : url.startsWith('node:') ? 'node (built-in)' : url === '' ? cf.functionName || '(native)' : path.relative(process.cwd(), url);
    pkg.set(where, (pkg.get(where) ?? 0) + us);
    const name = `${cf.functionName || '(anonymous)'} ${m ? m[1] : path.basename(url)}:${cf.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, round(v / busy, 3)] as [string, number]);
  return { service, samplesMs: round(total / 1000, 0), busyShare: round(busy / total, 2), topPackages: top(pkg, 10), topFunctions: top(fn, 12) };
}

export async function folioSeparate(image: Buffer, extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const sim = await startVllmSimulator(INSTANT);
  const nats = await startNats();
  // BENCH_PLUMBING_PROFILE_DIR keeps the profiles there (for a closer look); by default they go with the run.
  const keep = process.env.BENCH_PLUMBING_PROFILE_DIR;
  const profDir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'folio-prof-'));
  const env = { ...folioEnv(nats.url, sim.url), LOG_LEVEL: 'info', FOLIO_HTTP_PORT: '0', ...extra };
  const procs: ServiceProcess[] = [];
  try {
    // Ingest first: it alone creates the streams (the others wait for them).
    for (const service of ['ingest', 'rasterizer', 'ocr', 'assembler'] as const) {
      procs.push(
        await startServiceProcess({
          service,
          env,
          label: `bench-${service}`,
          args: ['--cpu-prof', '--cpu-prof-dir', path.join(profDir, service), '--import', 'tsx', `services/${service}/main.ts`],
        }),
      );
    }
    const url = /"msg":"ingest listening"[^\n]*"url":"([^"]+)"/.exec(procs[0].logs())?.[1] ?? /listening[^\n]*?(http:\/\/[0-9.:]+)/.exec(procs[0].logs())?.[1];
    if (!url) throw new Error(`no ingest URL in its log: ${procs[0].logs().slice(-500)}`);
    const watcher = await JobWatcher.start(nats.url);
    try {
      await watcher.wait(await submit(url, image, 'warm.png'));
      // Each service's CPU (with its renderer or probe processes) over the window, per job ended in it.
      let cpu0: number[] = [];
      let cpu1: number[] = [];
      const r = await closedLoop(
        async (i) => void (await watcher.wait(await submit(url, image, `p${i}.png`, { cache: 'bypass' }))),
        undefined,
        (edge) => (edge === 'start' ? (cpu0 = procs.map((p) => p.cpuMs())) : (cpu1 = procs.map((p) => p.cpuMs()))),
      );
      const perService = Object.fromEntries(procs.map((p, i) => [p.service, round((cpu1[i] - cpu0[i]) / Math.max(1, r.jobs), 1)]));
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
      const profiles = procs.map((p) => {
        const dir = path.join(profDir, p.service);
        const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
        return f ? summariseProfile(path.join(dir, f), p.service, r.windowUs) : { service: p.service, missing: true };
      });
      const { windowUs: _, cpuMsPerJob: __, ...figures } = r;
      return { ...figures, cpuMsPerJobByService: perService, natsServerCpuMsPerJob: r.cpuMsPerJob.natsServer, profiles };
    } finally {
      await watcher.close();
    }
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    if (!keep) rmSync(profDir, { recursive: true, force: true });
    await sim.close();
    await nats.destroy();
  }
}

/**
 * The bus alone: four work-queue streams like Folio's (file storage, duplicate window), a stage
 * per hop that pulls one message at a time (consumer.next, as Folio's loop does), publishes the
 * next hop with a message id and waits for the ack, then acks its message.
 */
export async function rawLoop(): Promise<Record<string, unknown>> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const hops = ['job', 'page', 'result', 'event'];
    for (const h of hops) {
      await jsm.streams.add({
        name: `RAW_${h.toUpperCase()}`,
        subjects: [`raw.${h}.>`],
        retention: h === 'event' ? RetentionPolicy.Limits : RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: 120 * 1e9,
      });
      if (h !== 'event')
        await jsm.consumers.add(`RAW_${h.toUpperCase()}`, {
          durable_name: `raw-${h}`,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          max_ack_pending: 256,
        });
    }
    let stop = false;
    const stages = hops.slice(0, 3).flatMap((h, k) =>
      Array.from({ length: 8 }, async () => {
        const c = await js.consumers.get(`RAW_${h.toUpperCase()}`, `raw-${h}`);
        while (!stop) {
          const m = await c.next({ expires: 1000 });
          if (!m) continue;
          const id = m.subject.split('.')[2];
          await js.publish(`raw.${hops[k + 1]}.${id}`, m.data, { msgID: `${hops[k + 1]}.${id}` });
          await m.ackAck().catch(() => m.ack());
        }
      }),
    );
    const waiters = new Map<string, () => void>();
    const sub = nc.subscribe('raw.event.*');
    void (async () => {
      for await (const m of sub) waiters.get(m.subject.split('.')[2])?.();
    })();
    const payload = JSON.stringify({ v: 1, jobId: 'x'.repeat(21), tenant: 'default', page: 1, count: 1, imageKey: 'pages/x/1.png', width: 640, height: 200 });
    const job = async (id: string) => {
      const done = new Promise<void>((res) => waiters.set(id, res));
      await js.publish(`raw.job.${id}`, payload, { msgID: `job.${id}` });
      await done;
      waiters.delete(id);
    };
    const perJob = await countPerJob(nats.url, 200, (i) => job(`c${i}`));
    const r = await closedLoop((i) => job(`j${i}`));
    stop = true;
    await Promise.all(stages);
    const { windowUs: _, ...figures } = r;
    return { ...figures, perJob, hops: 4, note: 'each hop: publish with a message id (awaited) → next() → ackAck; 8 pullers per stage' };
  } finally {
    await nc.close();
    await nats.destroy();
  }
}

export async function benchPlumbing(): Promise<Record<string, unknown>> {
  const image = await smallImage();
  const load = machineLoad();
  const raw = await rawLoop();
  process.stderr.write(`  raw ${JSON.stringify(raw)}\n`);
  const one = await folioOneProcess(image, {}, true);
  process.stderr.write(`  one process ${JSON.stringify(one)}\n`);
  // What the profile points at: the rasterizer takes one job at a time (FOLIO_RASTER_CONCURRENCY=1),
  // and a job is ~15 sequential NATS round trips around its render, so it is the ceiling; two at once:
  const raster2 = await folioOneProcess(image, { FOLIO_RASTER_CONCURRENCY: '2' });
  process.stderr.write(`  one process, raster concurrency 2 ${JSON.stringify(raster2)}\n`);
  const sep = await folioSeparate(image);
  process.stderr.write(`  separate ${JSON.stringify({ ...sep, profiles: undefined })}\n`);
  const rawRate = raw.jobsPerS as number;
  type Counted = { perJob: { messagesPerJob: number; apiCallsPerJob: number }; cpuMsPerJob: { node: number; natsServer: number } };
  const [f, b] = [one as unknown as Counted, raw as unknown as Counted];
  return {
    image: `${image.length}-byte PNG, 640×200`,
    clients: CLIENTS,
    windowS: WINDOW_S,
    loadBefore: load,
    rawLoop: raw,
    oneProcess: one,
    oneProcessRasterConcurrency2: raster2,
    separateProcesses: sep,
    oneProcessOverRaw: round((one.jobsPerS as number) / rawRate, 3),
    separateOverRaw: round((sep.jobsPerS as number) / rawRate, 3),
    // Where the gap is: bus traffic and CPU per job, Folio in one process against the raw loop (its
    // node figure includes the benchmark's client and the simulator, as the raw loop's includes its client).
    perJobOverRaw: {
      messages: round(f.perJob.messagesPerJob / b.perJob.messagesPerJob, 1),
      apiCalls: `${f.perJob.apiCallsPerJob} vs ${b.perJob.apiCallsPerJob}`,
      nodeCpu: round(f.cpuMsPerJob.node / Math.max(0.01, b.cpuMsPerJob.node), 0),
      natsServerCpu: round(f.cpuMsPerJob.natsServer / Math.max(0.01, b.cpuMsPerJob.natsServer), 0),
    },
    target: '≥ 200 pages/s on 2 cores and ≥ 0.5 of the raw loop',
    loadAfter: machineLoad(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchPlumbing(), null, 2));
  process.exit(0);
}
