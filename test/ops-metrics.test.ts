/**
 * The operator's view (issue 11), as a deployment runs: the four services as separate processes,
 * each its own NATS user, each /metrics scraped over HTTP (ingest's HTTP port, the others'
 * FOLIO_METRICS_PORT) while a job runs, and traces sent to an OTLP collector.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { outsideTool } from './helpers/outside-tool.ts';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { startAuthNats, type AuthNats, type ServiceUser } from './helpers/nats-auth-server.ts';
import { freePort } from './helpers/nats-server.ts';
import { startServiceProcess, tailLogs, type ServiceProcess } from './helpers/service-process.ts';
import { upload, waitForTerminal } from './helpers/stack.ts';

const KEY = 'ops-tenant-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
const PAGES = 8;

let nats: AuthNats;
let sim: Awaited<ReturnType<typeof startVllmSimulator>>;
let collector: http.Server;
const spans: Array<{ service: string; traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }> = [];
const procs: ServiceProcess[] = [];
const scrapeUrls: Record<string, string> = {};
let ingestUrl = '';

before(async () => {
  nats = await startAuthNats(['ops']);
  // Slow enough that pages queue behind a window of 2: the lag gauges have something to show.
  sim = await startVllmSimulator({ prefillMs: 100, msPerToken: 2, tokensPerPage: 150 });
  // A minimal OTLP/HTTP JSON collector.
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      for (const rs of JSON.parse(body).resourceSpans) {
        const service = rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name').value.stringValue;
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, ...s });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;

  const env = (user: ServiceUser, extra: Record<string, string>) => ({
    NATS_URL: nats.url,
    NATS_USER: user,
    NATS_PASSWORD: nats.passwords[user],
    FOLIO_NATS_MANAGE: user === 'ingest' ? 'true' : 'false',
    FOLIO_API_KEYS: `ops=${KEY}`,
    VLLM_BASE_URLS: sim.url,
    FOLIO_OCR_MAX_WINDOW: '2',
    FOLIO_RETRY_BASE_MS: '100',
    FOLIO_RATE_LIMIT_MAX: '0',
    FOLIO_LAG_INTERVAL_MS: '150',
    FOLIO_TMP_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-ops-')),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    ...extra,
  });
  const httpPort = await freePort();
  procs.push(await startServiceProcess({ service: 'ingest', env: env('ingest', { FOLIO_HTTP_HOST: '127.0.0.1', FOLIO_HTTP_PORT: String(httpPort) }) }));
  ingestUrl = `http://127.0.0.1:${httpPort}`;
  scrapeUrls.ingest = `${ingestUrl}/metrics`;
  for (const service of ['rasterizer', 'ocr', 'assembler'] as const) {
    const port = await freePort();
    procs.push(await startServiceProcess({ service, env: env(service, { FOLIO_METRICS_PORT: String(port) }) }));
    scrapeUrls[service] = `http://127.0.0.1:${port}/metrics`;
  }
});

after(async () => {
  for (const p of procs) await p.kill('SIGTERM').catch(() => {});
  await sim?.close();
  await new Promise((r) => collector?.close(r));
  await nats?.destroy();
});

type Samples = Map<string, number>;

/** `name{labels} value` lines → a map keyed by the series as written. */
function parseSamples(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function scrapeAll(): Promise<Record<string, { text: string; samples: Samples }>> {
  const out: Record<string, { text: string; samples: Samples }> = {};
  for (const [service, url] of Object.entries(scrapeUrls)) {
    const res = await fetch(url);
    assert.equal(res.status, 200, `${service} /metrics`);
    const text = await res.text();
    out[service] = { text, samples: parseSamples(text) };
  }
  return out;
}

/** The largest value among a service's series whose key matches. */
const maxOf = (s: Samples, re: RegExp) => Math.max(-1, ...[...s].filter(([k]) => re.test(k)).map(([, v]) => v));

const promtool = outsideTool('promtool', ['promtool', '--version'], "Debian package 'prometheus'").present;

test(
  'every service serves promtool-clean /metrics, and lag, latency, outcomes by code and per-backend series move during a job',
  { timeout: 180_000 },
  async () => {
    try {
      const before = await scrapeAll();
      assert.equal(maxOf(before.assembler.samples, /^folio_job_duration_seconds_count\{status="completed"\}/), -1, 'no job finished yet');

      // The first page's first attempt fails at the backend: a retry with its code.
      sim.setFaults({ next: ['500'] });
      const res = await upload(ingestUrl, '/v1/jobs', makePdf(Array.from({ length: PAGES }, (_, i) => `Ops page ${i + 1}`)), {
        filename: 'ops.pdf',
        headers: auth,
      });
      assert.equal(res.status, 202, await res.clone().text());
      const { id } = await res.json();

      // Sample while the job runs.
      const seen = { pagesWaiting: 0, pagesLag: 0, backendInFlight: 0, backendWindow: 0 };
      let ended = false;
      const job = waitForTerminal(ingestUrl, id, 120_000, auth).finally(() => (ended = true));
      while (!ended) {
        const s = await scrapeAll();
        seen.pagesWaiting = Math.max(seen.pagesWaiting, maxOf(s.ingest.samples, /^folio_stream_messages\{stream="FOLIO_PAGES"\}/));
        seen.pagesLag = Math.max(
          seen.pagesLag,
          maxOf(s.ocr.samples, /^folio_consumer_pending_messages\{stream="FOLIO_PAGES",consumer="ocr-\w+-ops"\}/) +
            maxOf(s.ocr.samples, /^folio_consumer_ack_pending_messages\{stream="FOLIO_PAGES",consumer="ocr-\w+-ops"\}/),
        );
        const backend = `backend="${new URL(sim.url).origin}`;
        seen.backendInFlight = Math.max(seen.backendInFlight, maxOf(s.ocr.samples, new RegExp(`^folio_ocr_backend_in_flight\\{${backend}`)));
        seen.backendWindow = Math.max(seen.backendWindow, maxOf(s.ocr.samples, new RegExp(`^folio_ocr_backend_window\\{${backend}`)));
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await job).status, 'completed');
      assert.ok(seen.pagesWaiting > 0, `ingest showed pages waiting in FOLIO_PAGES (${JSON.stringify(seen)})`);
      assert.ok(seen.pagesLag > 0, `ocr showed its tenant consumer's pending + ack-pending (${JSON.stringify(seen)})`);
      assert.ok(seen.backendInFlight > 0, `ocr showed pages in flight on the backend (${JSON.stringify(seen)})`);
      assert.ok(seen.backendWindow >= 1, `ocr showed the backend's window (${JSON.stringify(seen)})`);

      // After the job: lag drains to zero, the latency histogram has the job, outcomes carry codes.
      let s = await scrapeAll();
      for (let i = 0; i < 50 && maxOf(s.ingest.samples, /^folio_stream_messages\{stream="FOLIO_PAGES"\}/) !== 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        s = await scrapeAll();
      }
      assert.equal(maxOf(s.ingest.samples, /^folio_stream_messages\{stream="FOLIO_PAGES"\}/), 0, 'FOLIO_PAGES drained');
      // A message is counted once its ack is confirmed, just after the job it completed is visible: wait for the last ones.
      const acked = (svc: 'ocr' | 'assembler') => s[svc].samples.get(`folio_message_outcomes_total{consumer="${svc}",outcome="ack",code="none"}`) ?? 0;
      for (let i = 0; i < 50 && (acked('ocr') < PAGES || acked('assembler') < PAGES); i++) {
        await new Promise((r) => setTimeout(r, 100));
        s = await scrapeAll();
      }
      assert.equal(maxOf(s.ocr.samples, /^folio_consumer_pending_messages\{stream="FOLIO_PAGES"/), 0);
      assert.ok(
        maxOf(s.rasterizer.samples, /^folio_consumer_pending_messages\{stream="FOLIO_JOBS",consumer="rasterizer"\}/) >= 0,
        'the rasterizer reports its consumer',
      );
      assert.ok(
        maxOf(s.assembler.samples, /^folio_consumer_ack_pending_messages\{stream="FOLIO_PAGE_RESULTS",consumer="assembler"\}/) >= 0,
        'the assembler reports its consumer',
      );
      assert.equal(s.assembler.samples.get('folio_job_duration_seconds_count{status="completed"}'), 1, 'one job in the latency histogram');
      assert.ok(s.assembler.samples.get('folio_job_duration_seconds_sum{status="completed"}')! > 0);
      assert.equal(s.ocr.samples.get('folio_message_outcomes_total{consumer="ocr",outcome="ack",code="none"}'), PAGES);
      assert.ok(
        maxOf(s.ocr.samples, /^folio_message_outcomes_total\{consumer="ocr",outcome="retry",code="FOLIO_ENGINE_\w+"\}/) >= 1,
        'the failed attempt is counted with its code',
      );
      assert.equal(s.assembler.samples.get('folio_message_outcomes_total{consumer="assembler",outcome="ack",code="none"}'), PAGES);
      assert.equal(s.rasterizer.samples.get('folio_message_outcomes_total{consumer="rasterizer",outcome="ack",code="none"}'), 1);
      // Existing names keep working.
      assert.ok(s.ocr.samples.get('folio_pages_ocr_total{engine="vllm",outcome="ok"}')! >= PAGES);

      for (const [service, { text }] of Object.entries(s)) {
        // promtool's first rule, checked even without promtool: only counters end in _total.
        for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) if (name.endsWith('_total')) assert.equal(type, 'counter', `${service}: ${name}`);
        if (!promtool) continue;
        const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        assert.equal(lint.status, 0, `${service}: promtool check metrics\n${lint.stdout}${lint.stderr}`);
      }
      if (!promtool) console.log('# promtool not installed (Debian package "prometheus"): only the _total rule was checked');
    } catch (err) {
      console.log(tailLogs(procs));
      throw err;
    }
  },
);

test('one trace follows a job through the four services, carried in NATS message headers', { timeout: 60_000 }, async () => {
  // Spans of the job before have been flushed (every second) by now; only later ones are this job's.
  await new Promise((r) => setTimeout(r, 1500));
  const from = spans.length;
  // Tenant ops's event subscriber (its own NATS user) gets the trace with the completion event.
  const subscriber = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(nats.tenantSeeds.ops) });
  const events = subscriber.subscribe('folio.events.ops.>');
  const res = await upload(ingestUrl, '/v1/jobs', makePdf(['Traced page']), { filename: 'traced.pdf', headers: auth });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  assert.equal((await waitForTerminal(ingestUrl, id, 60_000, auth)).status, 'completed');
  const until = Date.now() + 10_000;
  // The job's trace, once every service has sent its spans (each flushes every second).
  const traceOf = () => {
    const byTrace = new Map<string, typeof spans>();
    for (const s of spans.slice(from)) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const all = ['folio-ingest', 'folio-rasterizer', 'folio-ocr', 'folio-assembler'];
    return [...byTrace.values()].find((t) => all.every((service) => t.some((s) => s.service === service)));
  };
  while (!traceOf() && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  const trace = traceOf();
  assert.ok(trace, `one trace holds spans of all four services (${JSON.stringify(spans.slice(from).map((s) => [s.service, s.name, s.traceId.slice(0, 6)]))})`);
  const services = new Set(trace.map((s) => s.service));
  assert.deepEqual([...services].sort(), ['folio-assembler', 'folio-ingest', 'folio-ocr', 'folio-rasterizer']);
  // Every consumer span's parent is a producer span of the same trace from the stage before: the context crossed NATS.
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const parentService = (service: string) => {
    const consumer = trace.find((s) => s.service === service && s.kind === 5)!;
    const parent = byId.get(consumer.parentSpanId!);
    assert.equal(parent?.kind, 4, `${service}'s consumer span has a producer parent`);
    return parent!.service;
  };
  assert.equal(parentService('folio-rasterizer'), 'folio-ingest');
  assert.equal(parentService('folio-ocr'), 'folio-rasterizer');
  assert.equal(parentService('folio-assembler'), 'folio-ocr');
  const timer = setTimeout(() => events.unsubscribe(), 10_000);
  let traceparent: string | undefined;
  for await (const m of events) {
    if (m.subject === `folio.events.ops.${id}.completed`) {
      traceparent = m.headers?.get('traceparent');
      break;
    }
  }
  clearTimeout(timer);
  await subscriber.close();
  assert.equal(traceparent?.split('-')[1], trace[0].traceId, "the completion event carries the job's trace");
});
