/**
 * A few renderer processes shared by the calls of one service: a call takes an idle one (starting
 * it on demand, up to `size`) or waits for one. A process left idle for `idleMs` is stopped to give
 * its memory back; the next call starts a fresh one.
 */
import { FolioError } from '../operations/errors.ts';
import { createWorkerHost, type CallOptions, type HostOptions, type WorkerHost } from './host.ts';

export interface PoolOptions extends HostOptions {
  size: number;
  /** Stop a process unused for this long (default 5 minutes; 0 = never). */
  idleMs?: number;
}

export interface HostPool {
  /** A host for the caller alone until release(): for work that keeps state in the child (an open document). */
  acquire(): Promise<WorkerHost>;
  release(host: WorkerHost): void;
  /** One call on any free host. */
  run<T>(op: string, payload: unknown, opts: CallOptions): Promise<T>;
  close(): Promise<void>;
}

export function createHostPool(o: PoolOptions): HostPool {
  const all: WorkerHost[] = [];
  const idle: WorkerHost[] = [];
  const idleTimers = new Map<WorkerHost, NodeJS.Timeout>();
  const waiting: Array<(h: WorkerHost) => void> = [];
  let closed = false;

  const pool: HostPool = {
    async acquire() {
      if (closed) throw new FolioError('FOLIO_UNAVAILABLE', 'The renderer pool is closed');
      const free = idle.pop();
      if (free) {
        clearTimeout(idleTimers.get(free));
        idleTimers.delete(free);
        return free;
      }
      if (all.length < o.size) {
        const h = createWorkerHost(o);
        all.push(h);
        return h;
      }
      return new Promise<WorkerHost>((resolve) => waiting.push(resolve));
    },
    release(h) {
      if (closed) return;
      const next = waiting.shift();
      if (next) return next(h);
      idle.push(h);
      const idleMs = o.idleMs ?? 300_000;
      if (idleMs > 0) {
        const t = setTimeout(() => h.kill(new FolioError('FOLIO_UNAVAILABLE', 'idle'), 'cancelled'), idleMs);
        t.unref();
        idleTimers.set(h, t);
      }
    },
    async run<T>(op: string, payload: unknown, opts: CallOptions) {
      const h = await pool.acquire();
      try {
        return await h.call<T>(op, payload, opts);
      } finally {
        pool.release(h);
      }
    },
    async close() {
      closed = true;
      for (const t of idleTimers.values()) clearTimeout(t);
      await Promise.all(all.map((h) => h.close()));
    },
  };
  return pool;
}
