// A fixed-size pool of OCR worker threads with a FIFO queue. Inference blocks for seconds per
// page, so it must never run on the service's event loop. Each worker takes one page at a time.
//
// A worker must not be terminated while it is inside onnxruntime or sharp: the native addon
// then throws into a dying thread and the whole process aborts ("terminate called after
// throwing an instance of 'Napi::Error'"). So an aborted page is rejected at once but its
// worker is asked to stop at its next step, and stays busy until it confirms; only a worker
// that ignores that for `stuckMs` is terminated, as is every worker on close once idle.
//
// Workers are recycled (retired and replaced) after `recyclePages` pages or once the process RSS
// a worker reports passes `recycleRssBytes`: whatever onnxruntime or sharp keeps growing in a
// thread goes with it. Retiring happens only between pages — the worker is asked to release its
// sessions and exit by itself — so no page is ever cut short; queued pages wait for the others or
// the replacement.
import { Worker } from 'node:worker_threads';
import { FolioError, type Logger } from '../../../../shared/operations/index.ts';
import type { EngineOutput } from '../../engine.ts';
import type { FromWorker, PageJob, ToWorker, WorkerInit } from './protocol.ts';

// From source (tsx) the worker needs a JS entry that registers tsx first; from the build (dist/)
// the compiled worker runs directly.
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker-entry.mjs' : './worker.js', import.meta.url);

export interface PoolOptions {
  size: number;
  init: WorkerInit;
  log?: Logger;
  /** Worker script; tests swap in stand-ins that crash or hang on cue. */
  entry?: URL;
  /** How long a worker may take to stop after its page was called off (default 30 s). */
  stuckMs?: number;
  /** Retire a worker once it has read this many pages (0 or absent: never). */
  recyclePages?: number;
  /** Retire a worker when the process RSS it reports after a page is above this (bytes; 0 or absent: never). */
  recycleRssBytes?: number;
}

export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  pages: number;
  /** Highest process RSS a worker reported after a page (bytes; all threads share one process). */
  peakRss: number;
  /** Workers retired and replaced after recyclePages pages or above recycleRssBytes. */
  recycled: number;
}

export interface WorkerPool {
  run(job: Omit<PageJob, 'id'>, signal: AbortSignal): Promise<EngineOutput>;
  stats(): PoolStats;
  close(): Promise<void>;
}

interface Task {
  job: PageJob;
  /** Settles the caller's promise once; later calls do nothing. */
  settle(result: EngineOutput | FolioError): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task?: Task;
  /** The task's caller gave up; the worker was asked to stop. */
  cancelled?: NodeJS.Timeout;
  exited: Promise<void>;
  /** Pages this worker has read (done or failed). */
  pages: number;
}

export function createWorkerPool(opts: PoolOptions): WorkerPool {
  const slots: Slot[] = [];
  const queue: Task[] = [];
  const stuckMs = opts.stuckMs ?? 30_000;
  let nextId = 1;
  let closed = false;
  let pages = 0;
  let peakRss = 0;
  let recycled = 0;
  /** Workers asked to retire that have not exited yet (they are no longer in `slots`). */
  const retiring = new Set<Slot>();
  let idle: (() => void) | undefined;

  function spawn(): void {
    // execArgv [] keeps the parent's flags (--test, --import …) out; the entry registers tsx itself.
    const worker = new Worker(opts.entry ?? ENTRY, { workerData: opts.init, execArgv: [] });
    let crash: Error | undefined;
    const slot: Slot = { worker, ready: false, pages: 0, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    slots.push(slot);
    worker.on('message', (m: FromWorker) => onMessage(slot, m));
    worker.on('error', (err) => (crash = err));
    worker.on('exit', (code) => onExit(slot, code, crash));
  }

  const send = (slot: Slot, m: ToWorker, transfer: ArrayBuffer[] = []) => slot.worker.postMessage(m, transfer);

  function onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      opts.log?.info({ loadMs: m.loadMs, threads: opts.init.threads }, 'cpu ocr worker ready');
      return dispatch();
    }
    const task = slot.task;
    if (!task || task.job.id !== m.id) return;
    slot.task = undefined;
    clearTimeout(slot.cancelled);
    slot.cancelled = undefined;
    if (m.type === 'done') {
      pages++;
      slot.pages++;
      peakRss = Math.max(peakRss, m.rss);
      task.settle(m.output);
      if (worn(slot, m.rss)) retire(slot);
    } else if (m.type === 'failed') {
      slot.pages++;
      task.settle(new FolioError(m.code, m.message));
      if (worn(slot, 0)) retire(slot);
    }
    dispatch();
  }

  /** Due for recycling: enough pages, or the process above the RSS ceiling. */
  function worn(slot: Slot, rss: number): boolean {
    if (closed) return false;
    if (opts.recyclePages && slot.pages >= opts.recyclePages) return true;
    // RSS is the whole process's: recycle one worker at a time (a replacement still loading its
    // models holds the RSS up too), or every worker would retire in a row.
    return !!opts.recycleRssBytes && rss > opts.recycleRssBytes && retiring.size === 0 && slots.every((s) => s.ready);
  }

  /** Idle worker out of the pool: it releases its sessions and exits; a fresh one takes its place. */
  function retire(slot: Slot): void {
    const i = slots.indexOf(slot);
    if (i < 0 || slot.task) return;
    slots.splice(i, 1);
    retiring.add(slot);
    recycled++;
    opts.log?.info({ pages: slot.pages, rss: peakRss }, 'cpu ocr worker recycled');
    void slot.exited.then(() => retiring.delete(slot));
    send(slot, { type: 'retire' });
    spawn();
  }

  function onExit(slot: Slot, code: number, crash: Error | undefined): void {
    clearTimeout(slot.cancelled);
    const i = slots.indexOf(slot);
    if (i < 0) return; // retired on purpose
    slots.splice(i, 1);
    const why = crash?.message ?? `exit code ${code}`;
    opts.log?.warn({ err: crash, code, ready: slot.ready }, 'cpu ocr worker died');
    slot.task?.settle(new FolioError('FOLIO_ENGINE_FAILED', `The CPU OCR worker died on this page: ${why}`));
    if (closed) return dispatch();
    if (slot.ready) spawn();
    else if (!slots.some((s) => s.ready)) {
      // Models failed to load: fail the waiting pages instead of respawning in a tight loop.
      // The next page tries to start workers again.
      for (const t of queue.splice(0)) t.settle(new FolioError('FOLIO_ENGINE_UNAVAILABLE', `The CPU OCR engine cannot start: ${why}`));
    }
    dispatch();
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (!slot.ready || slot.task || queue.length === 0 || closed) continue;
      const task = queue.shift()!;
      slot.task = task;
      send(slot, { type: 'page', job: task.job }, [task.job.image.buffer as ArrayBuffer]);
    }
    if (!slots.some((s) => s.task)) idle?.();
  }

  /** The caller gave up on a running page: ask its worker to stop, and terminate it if it will not. */
  function callOff(slot: Slot): void {
    if (slot.cancelled || !slot.task) return;
    send(slot, { type: 'cancel', id: slot.task.job.id });
    slot.cancelled = setTimeout(() => {
      opts.log?.error({ stuckMs }, 'cpu ocr worker ignored a cancel; terminating it');
      void slot.worker.terminate(); // onExit fails nothing more (the page already failed) and respawns
    }, stuckMs);
    slot.cancelled.unref();
  }

  return {
    run(job, signal) {
      if (closed) return Promise.reject(new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'The CPU OCR engine is closed'));
      if (signal.aborted) return Promise.reject(abortError(signal));
      return new Promise<EngineOutput>((resolve, reject) => {
        let settled = false;
        const task: Task = {
          // Own copy: the bytes are transferred to the worker, and a Buffer may share its pool.
          job: { ...job, image: new Uint8Array(job.image), id: nextId++ },
          settle(result) {
            if (settled) return;
            settled = true;
            signal.removeEventListener('abort', onAbort);
            if (result instanceof FolioError) reject(result);
            else resolve(result);
          },
        };
        const onAbort = () => {
          const q = queue.indexOf(task);
          if (q >= 0) queue.splice(q, 1);
          const slot = slots.find((s) => s.task === task);
          task.settle(abortError(signal));
          if (slot) callOff(slot);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(task);
        while (slots.length < opts.size) spawn();
        dispatch();
      });
    },
    stats: () => ({ workers: slots.length, busy: slots.filter((s) => s.task).length, queued: queue.length, pages, peakRss, recycled }),
    async close() {
      if (closed) return;
      closed = true;
      const gone = () => new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'The CPU OCR engine was closed');
      for (const t of queue.splice(0)) t.settle(gone());
      for (const s of slots) {
        s.task?.settle(gone());
        callOff(s);
      }
      // Terminate only once no worker is inside native code (see the top of this file).
      if (slots.some((s) => s.task)) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, stuckMs).unref();
        });
      }
      const all = slots.splice(0);
      for (const s of all) clearTimeout(s.cancelled);
      await Promise.all(all.map((s) => s.worker.terminate().then(() => s.exited)));
      // Retiring workers are releasing their sessions (native code): give them stuckMs to exit.
      const exits = Promise.all([...retiring].map((s) => s.exited));
      await Promise.race([exits, new Promise((r) => setTimeout(r, stuckMs).unref())]);
      await Promise.all([...retiring].map((s) => s.worker.terminate()));
    },
  };
}

/** A timeout is the engine being too slow (retryable); any other abort carries its own reason. */
function abortError(signal: AbortSignal): FolioError {
  const reason: unknown = signal.reason;
  if (reason instanceof FolioError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new FolioError('FOLIO_ENGINE_TIMEOUT', 'The CPU OCR engine timed out on this page');
  return new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'The CPU OCR request was aborted', undefined, { cause: reason });
}
