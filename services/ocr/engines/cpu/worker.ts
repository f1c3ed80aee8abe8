// One CPU OCR worker thread: loads the models once, then reads pages one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { toFolioError } from '../../../../shared/operations/errors.ts';
import { loadPaddle } from './paddle.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { Cancelled, recognizePage } from './recognize-page.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

const started = performance.now();
const paddle = await loadPaddle({ threads: init.threads, tuning: { int8: init.int8 ?? true } });
post({ type: 'ready', loadMs: Math.round(performance.now() - started) });

// The page being read and whether it was called off. The pool cannot terminate a thread that
// is inside native code (onnxruntime, sharp) without aborting the process, so a cancelled page
// stops itself at the next step instead.
let current: { id: number; cancelled: boolean } | undefined;

port.on('message', async (m: ToWorker) => {
  if (m.type === 'cancel') {
    if (current?.id === m.id) current.cancelled = true;
    return;
  }
  if (m.type === 'retire') {
    // Recycled by the pool while idle: free the models' native memory, then let the thread end.
    await paddle.release().catch(() => undefined);
    process.exit(0); // in a worker thread: ends this thread only
  }
  const page = (current = { id: m.job.id, cancelled: false });
  const t = performance.now();
  try {
    const output = await recognizePage(paddle, m.job, init, () => page.cancelled);
    post({ type: 'done', id: page.id, output, ms: Math.round(performance.now() - t), rss: process.memoryUsage.rss() });
  } catch (err) {
    if (err instanceof Cancelled) post({ type: 'cancelled', id: page.id });
    else {
      const e = toFolioError(err);
      // Unknown failures inside the engine are engine failures, not generic internal errors.
      post({ type: 'failed', id: page.id, code: e.code === 'FOLIO_INTERNAL' ? 'FOLIO_ENGINE_FAILED' : e.code, message: e.message });
    }
  } finally {
    current = undefined;
  }
});
