// A real 3-node JetStream cluster with every service as two separate processes, and faults
// injected while work is in flight: the node leading one of four things (the pages stream, the
// jobs KV bucket, the object store, a durable consumer: rotated over runs) and one replica of each
// service are SIGKILLed. Accepted work must still end, each job once, each page once and in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ConfigSchema } from '../shared/config/index.ts';
import { Streams, Subjects } from '../shared/bus/index.ts';
import { startVllmSimulator, type VllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { startNatsCluster, type TestCluster } from './helpers/nats-cluster.ts';
import { freePort } from './helpers/nats-server.ts';
import { startServiceProcess, tailLogs, type ServiceProcess } from './helpers/service-process.ts';
import { upload, waitForTerminal } from './helpers/stack.ts';

const SERVICES = ['ingest', 'rasterizer', 'ocr', 'assembler'] as const;
const TERMINAL = ['completed', 'partial', 'failed', 'cancelled'];
const PDF_PAGES = 20;
const IMAGES = 10;

let cluster: TestCluster;
let sim: VllmSimulator;
let nc: NatsConnection;
let jsm: JetStreamManager;
const procs: ServiceProcess[] = [];
const t0 = Date.now();
const say = (what: string) => console.log(`[cluster +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

/** FOLIO_REPLICAS=3 once shared/config/load.ts knows it; an unknown FOLIO_* would stop every service. */
const replicasEnv: Record<string, string> = 'FOLIO_REPLICAS' in ConfigSchema.in.shape ? { FOLIO_REPLICAS: '3' } : {};

before(async () => {
  cluster = await startNatsCluster();
  say(`3-node cluster up: ${cluster.nodes.map((n) => `${n.name}=${n.port}`).join(' ')}`);
  // ~1.1 s per page; 2 OCR replicas × 2 pages: the documents take long enough to be cut mid-way.
  sim = await startVllmSimulator({ prefillMs: 200, msPerToken: 3, tokensPerPage: 300, maxNumSeqs: 64 });
  const env = {
    VLLM_BASE_URLS: sim.url,
    FOLIO_OCR_MAX_WINDOW: '2',
    FOLIO_ACK_WAIT_MS: '3000',
    FOLIO_RETRY_BASE_MS: '500',
    FOLIO_RATE_LIMIT_MAX: '0',
    FOLIO_HTTP_HOST: '127.0.0.1',
    FOLIO_TMP_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-cluster-test-')),
    ...replicasEnv,
  };
  // Replica r of each service connects first to node (service + r) % 3: the two replicas of a
  // service start on different nodes, and every node has clients.
  const spawnOne = async (service: (typeof SERVICES)[number], r: number) => {
    const first = (SERVICES.indexOf(service) + r) % cluster.nodes.length;
    const extra: Record<string, string> = service === 'ingest' ? { FOLIO_HTTP_PORT: String(await freePort()) } : {};
    const p = await startServiceProcess({ service, label: `${service}-${r + 1}`, env: { ...env, ...extra, NATS_URL: cluster.url(first) } });
    procs.push(p);
    return p;
  };
  // One service first creates the streams, buckets and consumers; the others then start together.
  await spawnOne('assembler', 0);
  await Promise.all(
    [...SERVICES.flatMap((s) => [0, 1].map((r) => [s, r] as const))].filter(([s, r]) => !(s === 'assembler' && r === 0)).map(([s, r]) => spawnOne(s, r)),
  );
  say(`services up: ${procs.map((p) => `${p.label}(pid ${p.pid})`).join(' ')}`);
  nc = await connect({ servers: cluster.url(0).split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  jsm = await jetstreamManager(nc, { timeout: 10_000 });
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await nc?.close().catch(() => {});
  await sim?.close();
  await cluster?.destroy();
});

/**
 * The kinds of leader a node can hold for Folio. Each run kills the node leading one kind,
 * rotating over runs (FOLIO_CLUSTER_KILL=pages|jobsKv|objects|consumer|events picks one); the log
 * line says which, and which other leaderships died with it. The events stream's leader is the one
 * whose death mid-publish once let a retried completion event reach core subscribers twice.
 */
const LEADER_KINDS = {
  pages: 'the FOLIO_PAGES stream',
  jobsKv: 'the jobs KV bucket (KV_folio_jobs)',
  objects: 'the object store (OBJ_folio_blobs)',
  consumer: 'a durable OCR consumer on FOLIO_PAGES',
  events: 'the job events stream (FOLIO_JOB_EVENTS)',
} as const;
type LeaderKind = keyof typeof LEADER_KINDS;
const KINDS = Object.keys(LEADER_KINDS) as LeaderKind[];
const KILL: LeaderKind = (process.env.FOLIO_CLUSTER_KILL as LeaderKind) ?? KINDS[Math.floor(Date.now() / 60_000) % KINDS.length];
if (!KINDS.includes(KILL)) throw new Error(`FOLIO_CLUSTER_KILL must be one of ${KINDS.join(', ')}`);

/** Which node leads each kind now (a consumer: one of FOLIO_PAGES' durable consumers, the busiest). */
async function leaders(): Promise<Partial<Record<LeaderKind, string>>> {
  const lead = async (stream: string) => (await jsm.streams.info(stream)).cluster?.leader;
  const consumers = [];
  for await (const c of jsm.consumers.list(Streams.pages)) consumers.push(c);
  consumers.sort((a, b) => b.num_ack_pending + b.num_pending - (a.num_ack_pending + a.num_pending));
  return {
    pages: await lead(Streams.pages),
    jobsKv: await lead('KV_folio_jobs'),
    objects: await lead('OBJ_folio_blobs'),
    consumer: consumers[0]?.cluster?.leader,
    events: await lead(Streams.events),
  };
}

const ingestUrl = (r: number) => {
  const p = procs.find((x) => x.label === `ingest-${r}`)!;
  const port = /"url":"http:\/\/[^"]*:(\d+)"/.exec(p.logs())?.[1];
  return `http://127.0.0.1:${port}`;
};
const proc = (label: string) => procs.find((p) => p.label === label)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function jobOf(base: string, id: string) {
  const res = await fetch(`${base}/v1/jobs/${id}`);
  return res.ok ? res.json() : null;
}

test('every stream, KV bucket and object store is replicated on all three nodes (FOLIO_REPLICAS=3)', async () => {
  const seen: string[] = [];
  for await (const s of jsm.streams.list()) {
    seen.push(s.config.name);
    assert.equal(s.config.num_replicas, 3, `${s.config.name} has ${s.config.num_replicas} replica(s)`);
    assert.equal(s.cluster?.replicas?.length, 2, `${s.config.name}: a leader and two followers`);
  }
  for (const name of [...Object.values(Streams), 'KV_folio_jobs', 'KV_folio_cache', 'KV_folio_ratelimit', 'OBJ_folio_blobs']) {
    assert.ok(seen.includes(name), `${name} exists (saw ${seen.join(', ')})`);
  }
});

test(
  'SIGKILL a leader node (pages stream, jobs KV, object store, a consumer or the events stream, by rotation) and one replica of each service mid-work: every job completes, every page once, one completion event each',
  { timeout: 240_000 },
  async () => {
    // Completion events, counted on core subscriptions through every node: a duplicate publish
    // shows here even where the events stream would dedupe it.
    const perNode = new Map<string, Map<string, string[]>>();
    const watchers = await Promise.all(
      cluster.nodes.map(async (n) => {
        const c = await connect({ servers: n.url, reconnect: false });
        const counts = new Map<string, string[]>();
        perNode.set(n.name, counts);
        const sub = c.subscribe('folio.events.>');
        void (async () => {
          for await (const m of sub) {
            const [, , , jobId, kind] = m.subject.split('.');
            if (!TERMINAL.includes(kind)) continue;
            counts.set(jobId, [...(counts.get(jobId) ?? []), kind]);
          }
        })();
        await c.flush();
        return c;
      }),
    );

    try {
      const pdfTexts = Array.from({ length: PDF_PAGES }, (_, i) => `Cluster page ${i + 1}`);
      const pdfRes = await upload(ingestUrl(2), '/v1/jobs', makePdf(pdfTexts), { filename: 'cluster.pdf' });
      assert.equal(pdfRes.status, 202);
      const pdfId: string = (await pdfRes.json()).id;
      say(`accepted the ${PDF_PAGES}-page PDF ${pdfId}`);

      // 1. A rasterizer replica while the PDF is being rendered (its pages are published one by one):
      // the one rendering it by preference, told by the CPU it burns (nothing else says who pulled it).
      const rasterizers = [proc('rasterizer-1'), proc('rasterizer-2')];
      for (let j = await jobOf(ingestUrl(2), pdfId); j?.status === 'queued'; j = await jobOf(ingestUrl(2), pdfId)) await sleep(50);
      const cpu0 = rasterizers.map((p) => p.cpuMs());
      await sleep(300);
      const busy = rasterizers.map((p, i) => p.cpuMs() - cpu0[i]);
      const victim = busy[1] > busy[0] ? rasterizers[1] : rasterizers[0];
      const atRaster = await jobOf(ingestUrl(2), pdfId);
      await victim.kill();
      say(
        `SIGKILL ${victim.label} (CPU in the last 300 ms: ${rasterizers.map((p, i) => `${p.label} ${busy[i]} ms`).join(', ')}); PDF job ${atRaster?.status}, pages done ${atRaster?.pages?.done}/${PDF_PAGES}`,
      );

      // Then a burst of images while the PDF is under way.
      // Distinct images (identical bytes would be answered from the result cache), through both ingest replicas.
      const imageIds = await Promise.all(
        Array.from({ length: IMAGES }, async (_, i) => {
          const png = await sharp({ create: { width: 300 + i * 7, height: 200 + i * 3, channels: 3, background: { r: 20 * i, g: 255 - 20 * i, b: 128 } } })
            .png()
            .toBuffer();
          const res = await upload(ingestUrl((i % 2) + 1), '/v1/jobs', png, { filename: `burst-${i}.png` });
          assert.equal(res.status, 202);
          return (await res.json()).id as string;
        }),
      );
      const all = [pdfId, ...imageIds];
      say(`accepted ${IMAGES} images`);

      // 2. Once OCR is under way: the node leading FOLIO_PAGES, then an OCR, an assembler and an ingest replica.
      const until = Date.now() + 90_000;
      let job = await jobOf(ingestUrl(2), pdfId);
      while (!job || job.pages.done < 2) {
        assert.ok(Date.now() < until, `OCR of the PDF did not start: ${JSON.stringify(job)}\n${tailLogs(procs)}`);
        await sleep(100);
        job = await jobOf(ingestUrl(2), pdfId);
      }
      const leads = await leaders();
      const leaderName = leads[KILL] ?? cluster.nodes[0].name;
      const leader = cluster.node(leaderName);
      await leader.kill();
      const alsoLed = Object.entries(leads)
        .filter(([k, n]) => k !== KILL && n === leaderName)
        .map(([k]) => k);
      say(
        `SIGKILL nats node ${leader.name}, leader of ${KILL} (${LEADER_KINDS[KILL]})${alsoLed.length ? ` and also of ${alsoLed.join(', ')}` : ''}; leaders were ${JSON.stringify(leads)}; PDF pages done ${job.pages.done}/${PDF_PAGES}`,
      );
      assert.ok(job.pages.done < PDF_PAGES, 'pages were still in flight when the node died');
      for (const label of ['ocr-1', 'assembler-1', 'ingest-1']) {
        await proc(label).kill();
        say(`SIGKILL ${label}`);
      }
      await sleep(3000);
      await leader.start();
      say(`restarted nats node ${leader.name}`);
      await cluster.waitReady(60_000);
      say(`nats node ${leader.name} answers JetStream requests again`);

      // Every job ends, and ends completed, page by page in order.
      const finals = [];
      for (const id of all) {
        try {
          finals.push(await waitForTerminal(ingestUrl(2), id, 150_000));
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${tailLogs(procs)}\n${cluster.logs(15)}`, { cause: err });
        }
      }
      say(`all ${all.length} jobs terminal: ${finals.map((j) => j.status).join(',')}`);
      for (const j of finals) {
        assert.equal(j.status, 'completed', `job ${j.id}: ${JSON.stringify(j.pageDetails?.filter((p: { error?: unknown }) => p.error))}`);
        assert.deepEqual(j.pages, { total: j.pages.total, done: j.pages.total, failed: 0 });
        assert.deepEqual(
          j.pageDetails.map((p: { page: number }) => p.page),
          Array.from({ length: j.pages.total }, (_, i) => i + 1),
        );
      }
      const pdfJob = finals[0];
      assert.equal(pdfJob.pages.total, PDF_PAGES);
      const doc = await (await fetch(`${ingestUrl(2)}/v1/jobs/${pdfId}/result?format=json`)).json();
      assert.deepEqual(
        doc.pages.map((p: { page: number }) => p.page),
        pdfTexts.map((_, i) => i + 1),
        'every page once, in order (JSON)',
      );
      const md: string = await (await fetch(`${ingestUrl(2)}/v1/jobs/${pdfId}/result`)).text();
      const markers = [...md.matchAll(/<!-- page (\d+) -->/g)].map((m) => Number(m[1]));
      assert.deepEqual(
        markers,
        pdfTexts.slice(1).map((_, i) => i + 2),
        'every page once, in order (Markdown)',
      );
      // The simulator names each page after its image's hash: 20 different pages, in the JSON's order.
      const simIds = [...md.matchAll(/^# Simulated page ([0-9a-f]{16})$/gm)].map((m) => m[1]);
      assert.equal(new Set(simIds).size, PDF_PAGES, 'no page repeated or lost in the Markdown');
      assert.deepEqual(
        simIds,
        doc.pages.map((p: { markdown: string }) => /# Simulated page ([0-9a-f]{16})/.exec(p.markdown)?.[1]),
      );

      // Exactly one completion event per job: wait past a redelivery period for any late duplicate.
      await sleep(4000);
      for (const [node, counts] of perNode) {
        if (node === leader.name) continue; // its subscriber was cut off with it
        for (const id of all) assert.deepEqual(counts.get(id), ['completed'], `completion events of ${id} seen through ${node}`);
      }
      const stored = await jsm.streams.info(Streams.events, { subjects_filter: Subjects.allEventLog });
      for (const id of all) {
        const subjects = Object.entries(stored.state.subjects ?? {}).filter(([s]) => s.split('.')[3] === id && TERMINAL.includes(s.split('.')[4]));
        assert.deepEqual(
          subjects.map(([s, n]) => [s.split('.')[4], n]),
          [['completed', 1]],
          `stored completion events of ${id}`,
        );
      }

      // Nothing is left queued: every work stream drains.
      const drainUntil = Date.now() + 20_000;
      for (const stream of [Streams.jobs, Streams.pages, Streams.pageResults]) {
        for (;;) {
          const s = await jsm.streams.info(stream);
          if (s.state.messages === 0) break;
          if (Date.now() > drainUntil) {
            const consumers = [];
            for await (const c of jsm.consumers.list(stream))
              consumers.push({
                name: c.name,
                pending: c.num_pending,
                ackPending: c.num_ack_pending,
                redelivered: c.num_redelivered,
                delivered: c.delivered,
                ackFloor: c.ack_floor,
              });
            const msgs = [];
            for (let seq = s.state.first_seq; seq <= s.state.last_seq && msgs.length < 10; seq++) {
              const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
              if (m) msgs.push({ seq, subject: m.subject, hdr: m.header?.get('Nats-Msg-Id'), body: m.string().slice(0, 200) });
            }
            assert.fail(`${stream} still holds ${s.state.messages} message(s): ${JSON.stringify({ state: s.state, consumers, msgs }, null, 1)}`);
          }
          await sleep(250);
        }
      }
      say('every work stream is empty; simulator ' + JSON.stringify({ received: sim.stats().received, completed: sim.stats().completed }));
    } finally {
      await Promise.all(watchers.map((c) => c.close().catch(() => {})));
    }
  },
);
