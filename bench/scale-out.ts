// Scale-out, as ratios measured in one run:
//  1. OCR replicas: pipeline pages/s with 1, 2 and 4 OCR services, each its own process with a
//     window of OCR_WINDOW pages, against a simulated backend with far more capacity than all
//     four use (64 sequences, no batch slowdown): the throughput should grow with the replicas.
//  2. Cluster cost: the whole pipeline, backend made fast so NATS and the services are the limit,
//     on a 3-node JetStream cluster with everything replicated (FOLIO_REPLICAS=3) against one node.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigSchema, loadConfig } from '../shared/config/index.ts';
import { startStack, type ServiceName } from '../services/all/stack.ts';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from '../test/helpers/make-pdf.ts';
import { startNats } from '../test/helpers/nats-server.ts';
import { startNatsCluster } from '../test/helpers/nats-cluster.ts';
import { startServiceProcess, type ServiceProcess } from '../test/helpers/service-process.ts';

const OCR_WINDOW = 2;
/** ~1 s a page whatever the batch: the backend is never what limits the replicas. */
const SLOW_SIM = { maxNumSeqs: 64, prefillMs: 200, msPerToken: 4, tokensPerPage: 200, batchSlowdown: 0 };
const FAST_SIM = { maxNumSeqs: 64, prefillMs: 5, msPerToken: 0.05, tokensPerPage: 200, batchSlowdown: 0 };
const PAGES_PER_DOC = 8;
/** Pages per OCR replica and run: each run lasts about as long as the others. */
const PAGES_PER_REPLICA = 16;
const CLUSTER_DOCS = 16;

const round = (x: number) => Math.round(x * 100) / 100;
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'folio-bench-'));
const replicasKnown = 'FOLIO_REPLICAS' in ConfigSchema.in.shape;

/** Submits `docs` PDFs at once and waits for every job to end; pages per second over the whole. */
async function runDocs(baseUrl: string, docs: number, tag: string): Promise<{ pagesPerS: number; seconds: number; completed: number }> {
  const pdfs = Array.from({ length: docs }, (_, d) => makePdf(Array.from({ length: PAGES_PER_DOC }, (_, p) => `${tag} document ${d + 1}, page ${p + 1}`)));
  const t0 = performance.now();
  // Four uploads at a time: ingest caps the uploads a tenant has in progress at once (429 beyond).
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let d = next++; d < docs; d = next++) {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(pdfs[d])]), `${tag}-${d}.pdf`);
        const res = await fetch(`${baseUrl}/v1/jobs`, { method: 'POST', body: form });
        if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
        ids[d] = (await res.json()).id as string;
      }
    }),
  );
  const deadline = Date.now() + 180_000;
  const statuses = await Promise.all(
    ids.map(async (id) => {
      for (;;) {
        const res = await fetch(`${baseUrl}/v1/jobs/${id}`);
        const job = res.ok ? await res.json() : null;
        if (job && ['completed', 'partial', 'failed', 'cancelled'].includes(job.status)) return job.status as string;
        if (Date.now() > deadline) throw new Error(`job ${id} did not end`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { pagesPerS: round((docs * PAGES_PER_DOC) / seconds), seconds: round(seconds), completed: statuses.filter((s) => s === 'completed').length };
}

async function benchReplicas(): Promise<Record<string, unknown>> {
  const sim = await startVllmSimulator(SLOW_SIM);
  const nats = await startNats();
  const env = {
    NATS_URL: nats.url,
    VLLM_BASE_URLS: sim.url,
    FOLIO_OCR_MAX_WINDOW: String(OCR_WINDOW),
    FOLIO_RATE_LIMIT_MAX: '0',
    FOLIO_TMP_DIR: tmp(),
  };
  // Ingest, rasterizer and assembler in this process; only the OCR service is scaled out.
  const stack = await startStack(loadConfig({ ...env, LOG_LEVEL: 'silent' }), {
    services: ['ingest', 'rasterizer', 'assembler'] satisfies ServiceName[],
    port: 0,
  });
  const ocr: ServiceProcess[] = [];
  const runs: Record<string, unknown> = {};
  try {
    for (const replicas of [1, 2, 4]) {
      const more = replicas - ocr.length;
      ocr.push(
        ...(await Promise.all(Array.from({ length: more }, (_, i) => startServiceProcess({ service: 'ocr', label: `bench-ocr-${ocr.length + i + 1}`, env })))),
      );
      // Warm-up: every replica's window opens before the clock starts.
      await runDocs(stack.url, replicas, `warm${replicas}`);
      const docs = Math.ceil((replicas * PAGES_PER_REPLICA) / PAGES_PER_DOC);
      const simBefore = sim.stats().completed;
      const r = await runDocs(stack.url, docs, `r${replicas}`);
      runs[`ocrReplicas${replicas}`] = {
        ...r,
        pages: docs * PAGES_PER_DOC,
        simPages: sim.stats().completed - simBefore,
        simMaxRunning: sim.stats().maxRunning,
      };
      process.stderr.write(`  ${replicas} OCR replica(s): ${r.pagesPerS} pages/s\n`);
    }
  } finally {
    await Promise.all(ocr.map((p) => p.kill()));
    await stack.stop();
    await sim.close();
    await nats.destroy();
  }
  const pps = (k: number) => (runs[`ocrReplicas${k}`] as { pagesPerS: number }).pagesPerS;
  const pageSeconds = (SLOW_SIM.prefillMs + SLOW_SIM.tokensPerPage * SLOW_SIM.msPerToken) / 1000;
  return {
    simulator: SLOW_SIM,
    ocrWindowPerReplica: OCR_WINDOW,
    /** What the replicas could reach at most (window × replicas ÷ page time) and what the backend could serve. */
    idealPagesPerS: Object.fromEntries([1, 2, 4].map((k) => [k, round((k * OCR_WINDOW) / pageSeconds)])),
    backendCapacityPagesPerS: round(SLOW_SIM.maxNumSeqs / pageSeconds),
    ...runs,
    twoOverOne: round(pps(2) / pps(1)),
    fourOverOne: round(pps(4) / pps(1)),
    /** Throughput per replica at 4, relative to 1 (1.0 = linear). */
    scalingEfficiencyAt4: round(pps(4) / pps(1) / 4),
  };
}

async function pipelineOn(natsUrl: string, extra: Record<string, string>, tag: string) {
  const sim = await startVllmSimulator(FAST_SIM);
  const stack = await startStack(
    loadConfig({
      NATS_URL: natsUrl,
      VLLM_BASE_URLS: sim.url,
      FOLIO_OCR_MAX_WINDOW: '32',
      FOLIO_RATE_LIMIT_MAX: '0',
      FOLIO_TMP_DIR: tmp(),
      LOG_LEVEL: 'silent',
      ...extra,
    }),
    { port: 0 },
  );
  try {
    await runDocs(stack.url, 2, `${tag}-warm`);
    return await runDocs(stack.url, CLUSTER_DOCS, tag);
  } finally {
    await stack.stop();
    await sim.close();
  }
}

async function benchClusterCost(): Promise<Record<string, unknown>> {
  const nats = await startNats();
  let single;
  try {
    single = await pipelineOn(nats.url, {}, 'single');
  } finally {
    await nats.destroy();
  }
  process.stderr.write(`  one node (R1): ${single.pagesPerS} pages/s\n`);
  const cluster = await startNatsCluster();
  let clustered;
  try {
    clustered = await pipelineOn(cluster.url(0), replicasKnown ? { FOLIO_REPLICAS: '3' } : {}, 'cluster');
  } finally {
    await cluster.destroy();
  }
  process.stderr.write(`  3-node cluster (R${replicasKnown ? 3 : 1}): ${clustered.pagesPerS} pages/s\n`);
  return {
    simulator: FAST_SIM,
    pages: CLUSTER_DOCS * PAGES_PER_DOC,
    oneNode: single,
    threeNodeCluster: { ...clustered, replicas: replicasKnown ? 3 : 1 },
    /** Pipeline throughput on the replicated cluster ÷ on one node (the price of surviving a node). */
    clusterOverSingle: round(clustered.pagesPerS / single.pagesPerS),
  };
}

export async function benchScaleOut(): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const ocrReplicas = await benchReplicas();
  const clusterCost = await benchClusterCost();
  return { ocrReplicas, clusterCost, benchSeconds: round((performance.now() - t0) / 1000) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchScaleOut(), null, 2));
  process.exit(0);
}
