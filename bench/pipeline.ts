// Pipeline throughput against the vLLM simulator's capacity, measured in one run:
//  1. capacity: an ideal client keeps exactly max-num-seqs pages in flight straight at the simulator;
//  2. pipeline: the same simulator behind the whole Folio stack (HTTP → JetStream → four services).
// The ratio says how much of the backend Folio's flow control actually uses.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../shared/config.ts';
import { startStack } from '../services/all/stack.ts';
import { createVllmEngine } from '../services/ocr/engines/vllm/engine.ts';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from '../test/helpers/make-pdf.ts';
import { startNats } from '../test/helpers/nats-server.ts';

const SIM = { maxNumSeqs: 16, prefillMs: 60, msPerToken: 1.5, tokensPerPage: 300 };
const DOCS = 24;
const PAGES_PER_DOC = 10;

async function measureCapacity(url: string, pages: number, image: Buffer): Promise<number> {
  const engine = await createVllmEngine({ baseUrls: [url], model: 'deepseek-ai/DeepSeek-OCR', apiKey: 'x', maxTokens: 2000, timeoutMs: 60_000, maxWindow: SIM.maxNumSeqs, minWindow: 1 });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SIM.maxNumSeqs }, async () => {
      while (next < pages) {
        next++;
        await engine.recognize({ page: 1, image, width: 1224, height: 1584, task: 'markdown' }, AbortSignal.timeout(60_000));
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  await engine.close();
  return pages / s;
}

export async function benchPipeline(): Promise<Record<string, unknown>> {
  const image = readFileSync(new URL('../test/fixtures/english.png', import.meta.url));
  const capSim = await startVllmSimulator(SIM);
  const capacity = await measureCapacity(capSim.url, SIM.maxNumSeqs * 6, image);
  await capSim.close();

  const sim = await startVllmSimulator(SIM);
  const nats = await startNats();
  const stack = await startStack(
    loadConfig({
      NATS_URL: nats.url,
      VLLM_BASE_URLS: sim.url,
      FOLIO_OCR_MAX_WINDOW: String(SIM.maxNumSeqs * 2),
      FOLIO_RATE_LIMIT_MAX: '0',
      FOLIO_TMP_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-bench-')),
      LOG_LEVEL: 'silent',
    }),
    { port: 0 },
  );
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  let runningSum = 0;
  let samples = 0;
  const util = setInterval(() => {
    runningSum += sim.stats().running;
    samples++;
  }, 50);
  try {
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: DOCS }, async (_, d) => {
        const form = new FormData();
        const pdf = makePdf(Array.from({ length: PAGES_PER_DOC }, (_, p) => `Document ${d + 1}, page ${p + 1}`));
        form.append('file', new Blob([new Uint8Array(pdf)]), `doc${d}.pdf`);
        const res = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: form });
        return (await res.json()).id as string;
      }),
    );
    const statuses = await Promise.all(
      ids.map(async (id) => {
        for (;;) {
          const job = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
          if (['completed', 'partial', 'failed'].includes(job.status)) return job.status as string;
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const pages = DOCS * PAGES_PER_DOC;
    const throughput = pages / seconds;
    return {
      simulator: SIM,
      pages,
      completedJobs: statuses.filter((s) => s === 'completed').length,
      seconds: round(seconds),
      pipelinePagesPerS: round(throughput),
      backendCapacityPagesPerS: round(capacity),
      throughputOverCapacity: round(throughput / capacity),
      backendUtilisation: round(runningSum / samples / SIM.maxNumSeqs),
      simMaxRunning: sim.stats().maxRunning,
      simMaxWaiting: sim.stats().maxWaiting,
      peakRssMb: Math.round(peakRss / 1e6),
    };
  } finally {
    clearInterval(sampler);
    clearInterval(util);
    await stack.stop();
    await sim.close();
    await nats.destroy();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchPipeline(), null, 2));
  process.exit(0);
}
