// Two unequal backends: the calibrated simulator with 100 sequences and one with 32 (a smaller GPU
// slice), both at the same clock. Their capacities are measured directly and at the same time by
// ideal clients (each kept full); then Folio drives both (pipeline ÷ sum, from the simulators' token
// clocks over the same window length); then a fresh run where the smaller one is killed mid-run
// (its in-flight requests cut): every page must still complete.
// Alone: `node --import tsx bench/backends.ts`.
import { fileURLToPath } from 'node:url';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from '../test/helpers/make-pdf.ts';
import { startNats } from '../test/helpers/nats-server.ts';
import {
  CALIBRATED,
  fixture,
  idealCapacity,
  JobWatcher,
  machineLoad,
  pageRequestBody,
  pool,
  round,
  sampleFolio,
  simWindow,
  sleep,
  startBenchStack,
  submit,
} from './lib.ts';

const SEQS = [100, 32];
const WINDOW_S = Number(process.env.BENCH_BACKENDS_WINDOW_S ?? 20);
const PAGES_PER_DOC = 10;
/** Enough pages that the smaller backend is full when it is killed 8 s in. */
const KILL_DOCS = 20;

export async function benchBackends(): Promise<Record<string, unknown>> {
  const body = pageRequestBody(fixture('english.png'));
  const sims = await Promise.all(SEQS.map((maxNumSeqs) => startVllmSimulator({ ...CALIBRATED, maxNumSeqs })));
  const nats = await startNats();
  const env = (urls: string) => ({
    NATS_URL: nats.url,
    VLLM_BASE_URLS: urls,
    FOLIO_OCR_MAX_WINDOW: '160',
    FOLIO_MAX_ACK_PENDING: '512',
    FOLIO_MAX_UPLOADS_PER_TENANT: '32',
  });
  const out: Record<string, unknown> = { maxNumSeqs: SEQS, windowS: WINDOW_S, load: machineLoad() };
  const docs = Array.from({ length: 30 }, (_, d) => makePdf(Array.from({ length: PAGES_PER_DOC }, (_, p) => `Backends ${d + 1}, page ${p + 1}`)));
  const stack = await startBenchStack(env(sims.map((s) => s.url).join(',')));
  const watcher = await JobWatcher.start(nats.url);
  try {
    // Warm-up: one job through every stage (renderer started, consumers created, modules loaded),
    // as in the pipeline suite; a cold first job took 10–20 s on the loaded 2-core machine and
    // ate the steady window's warm-up.
    await watcher.wait(await submit(stack.url, docs[0], 'warm.pdf'));
    const caps = await idealCapacity(sims, SEQS, body, 8, WINDOW_S);
    const capSum = caps[0].pagesPerS + caps[1].pagesPerS;
    // Folio, steady: a new PDF whenever one ends, 30 in flight (300 pages waiting ≥ 132 sequences).
    let stop = false;
    let n = 0;
    const feeders = docs.map(async (pdf) => {
      while (!stop) await watcher.wait(await submit(stack.url, pdf, `b${n++}.pdf`, { cache: 'bypass' }));
    });
    await sleep(12_000);
    const a = sims.map((s) => s.stats());
    const folioSide = sampleFolio(stack.url);
    await sleep(WINDOW_S * 1000);
    const b = sims.map((s) => s.stats());
    const folio = folioSide.stop();
    stop = true;
    await Promise.all(feeders);
    const w = sims.map((_, i) => simWindow(a[i], b[i]));
    out.capacity = { perBackend: caps, sumPagesPerS: round(capSum) };
    out.pipeline = { perBackend: w, sumPagesPerS: round(w[0].pagesPerS + w[1].pagesPerS), folio };
    out.pipelineOverSumOfCapacities = round((w[0].pagesPerS + w[1].pagesPerS) / capSum, 3);
    out.target = '≥ 0.9';
    process.stderr.write(`  two backends ${JSON.stringify(out)}\n`);

    // The kill: KILL_DOCS ten-page PDFs, the 32-sequence backend closed (connections cut) 8 s in.
    const ids = await pool(KILL_DOCS, 4, (d) => submit(stack.url, docs[d], `k${d}.pdf`, { cache: 'bypass' }));
    await sleep(8000);
    const cutInFlight = sims[1].stats().running;
    await sims[1].close();
    const kinds = await Promise.all(ids.map((id) => watcher.wait(id)));
    const statuses = await Promise.all(
      ids.map(async (id) => (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as { pages: { done: number; failed: number } }),
    );
    out.killOne = {
      jobs: ids.length,
      pages: ids.length * PAGES_PER_DOC,
      inFlightOnKilledBackend: cutInFlight,
      completedJobs: kinds.filter((k) => k === 'completed').length,
      pagesDone: statuses.reduce((s, j) => s + j.pages.done, 0),
      pagesFailed: statuses.reduce((s, j) => s + j.pages.failed, 0),
      target: 'no page lost or failed',
    };
    return out;
  } finally {
    await watcher.close();
    await stack.stop();
    await Promise.all(sims.map((s) => s.close().catch(() => {})));
    await nats.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchBackends(), null, 2));
  process.exit(0);
}
