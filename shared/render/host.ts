/**
 * One renderer child process, seen from the service: calls with a deadline, a memory cap, and
 * kill-and-replace. Child processes rather than worker threads because the code they run (pdf.js,
 * @napi-rs/canvas, sharp) can crash natively or be stuck inside native code: a worker thread
 * cannot contain a segfault and must not be terminated inside a native call (the whole process
 * aborts), whereas SIGKILL ends a child cleanly at any moment. `--max-old-space-size` caps the
 * V8 heap as worker resourceLimits would; a resident-size watchdog also covers native memory
 * (canvases, decoded images), which resourceLimits do not.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FolioError, type ErrorCode } from '../operations/errors.ts';
import type { Logger } from '../operations/logger.ts';
import type { CallMessage, FromChild, SerializedError, ToChild } from './protocol.ts';

export type LossCause = 'timeout' | 'crash' | 'memory' | 'cancelled';

export interface HostOptions {
  /** The child's entry module: a .ts file (run through tsx, from source) or the compiled .js. */
  entry: URL;
  /** V8 heap limit and resident-size cap of the child, in MiB. */
  memoryMb: number;
  /** Deadline for the child to load its modules and say it is ready (default 60 s). */
  startTimeoutMs?: number;
  /** How often the resident size is checked while a call runs (default 200 ms). */
  memoryCheckMs?: number;
  log?: Logger;
  /** Called each time a child is killed or dies under a call. */
  onLost?: (cause: LossCause) => void;
}

export interface CallOptions {
  /** Past this the child is killed and the call rejects with `timeoutError()`. */
  timeoutMs: number;
  timeoutError: () => FolioError;
  onEvent?: (event: unknown) => void;
}

export interface WorkerHost {
  /** Runs one call in the child (started on demand); one call at a time. */
  call<T>(op: string, payload: unknown, opts: CallOptions): Promise<T>;
  /** Asks the call in flight to stop at its next step; it then settles as the child decides. */
  cancel(): void;
  /** Kills the child now; the call in flight rejects with `reason`. */
  kill(reason: FolioError, cause?: LossCause): void;
  /** Increments each time a new child starts: state kept in a child (an open document) is gone when it changed. */
  generation(): number;
  /** The error that ended the previous child, when it did not exit on request. */
  lastLoss(): FolioError | undefined;
  pid(): number | undefined;
  close(): Promise<void>;
}

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  killReason?: FolioError;
  killCause?: LossCause;
}

interface Pending {
  id: number;
  child: Child;
  resolve(v: unknown): void;
  reject(e: FolioError): void;
  onEvent?: (event: unknown) => void;
}

export function createWorkerHost(o: HostOptions): WorkerHost {
  let child: Child | undefined;
  let gen = 0;
  let pending: Pending | undefined;
  let nextId = 1;
  let closed = false;
  let loss: FolioError | undefined;

  function execArgv(): string[] {
    const flags = [`--max-old-space-size=${o.memoryMb}`];
    // From source the child is TypeScript too; tsx by absolute URL so the child's cwd does not matter.
    return o.entry.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), ...flags] : flags;
  }

  function spawnChild(): Child {
    gen++;
    const proc = fork(fileURLToPath(o.entry), [], {
      execArgv: execArgv(),
      serialization: 'advanced', // page images travel as bytes, not JSON
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    // Neither the process nor its channel may keep a service (or a test) alive on their own.
    proc.unref();
    proc.channel?.unref();
    const c: Child = { proc, ready: Promise.resolve(), exited: Promise.resolve() };
    c.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    c.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => kill(c, new FolioError('FOLIO_RENDER_CRASHED', 'The renderer did not start in time'), 'crash'),
        o.startTimeoutMs ?? 60_000,
      );
      proc.on('message', (m: FromChild) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else onMessage(c, m);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        const err = c.killReason ?? crashError(code, signal);
        reject(err);
        onExit(c, err, code, signal);
      });
      proc.once('error', (err) => o.log?.warn({ err }, 'renderer process error'));
    });
    c.ready.catch(() => {});
    return c;
  }

  function onMessage(c: Child, m: FromChild): void {
    if (!pending || pending.child !== c || m.type === 'ready' || m.id !== pending.id) return;
    if (m.type === 'event') return pending.onEvent?.(m.event);
    const p = pending;
    pending = undefined;
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(deserializeError(m.error));
  }

  function onExit(c: Child, err: FolioError, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === c) child = undefined;
    const busy = pending?.child === c;
    if (c.killCause !== 'cancelled' && !closed) {
      loss = err;
      const cause = c.killCause ?? 'crash';
      o.onLost?.(cause);
      o.log?.warn({ code, signal, cause, busy, reason: err.message }, 'renderer process lost; a new one starts on the next call');
    }
    if (busy) {
      const p = pending!;
      pending = undefined;
      p.reject(err);
    }
  }

  function kill(c: Child, reason: FolioError, cause: LossCause): void {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    c.killReason ??= reason;
    c.killCause ??= cause;
    c.proc.kill('SIGKILL');
  }

  /** Resident size of the child in MiB (Linux /proc); undefined where it cannot be read. */
  async function rssMb(pid: number): Promise<number | undefined> {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async call<T>(op: string, payload: unknown, opts: CallOptions): Promise<T> {
      if (closed) throw new FolioError('FOLIO_UNAVAILABLE', 'The renderer is closed');
      if (pending) throw new Error('one renderer call at a time');
      const c = (child ??= spawnChild());
      await c.ready;
      const id = nextId++;
      const result = new Promise<unknown>((resolve, reject) => {
        pending = { id, child: c, resolve, reject, onEvent: opts.onEvent };
      });
      const timer = setTimeout(() => kill(c, opts.timeoutError(), 'timeout'), opts.timeoutMs);
      const watchdog = setInterval(async () => {
        const mb = c.proc.pid ? await rssMb(c.proc.pid) : undefined;
        if (mb !== undefined && mb > o.memoryMb) {
          kill(
            c,
            new FolioError('FOLIO_RENDER_CRASHED', `The renderer used ${Math.round(mb)} MiB, over its ${o.memoryMb} MiB limit`, { memoryMb: o.memoryMb }),
            'memory',
          );
        }
      }, o.memoryCheckMs ?? 200);
      try {
        c.proc.send({ type: 'call', id, op, payload } satisfies CallMessage);
        return (await result) as T;
      } finally {
        clearTimeout(timer);
        clearInterval(watchdog);
      }
    },
    cancel() {
      if (pending) pending.child.proc.send({ type: 'cancel', id: pending.id } satisfies ToChild);
    },
    kill(reason, cause = 'cancelled') {
      if (child) kill(child, reason, cause);
    },
    generation: () => gen,
    lastLoss: () => loss,
    pid: () => child?.proc.pid,
    async close() {
      closed = true;
      const c = child;
      if (!c) return;
      c.proc.ref(); // an unreferenced child's exit would not keep this process waiting for it
      kill(c, new FolioError('FOLIO_UNAVAILABLE', 'The renderer was closed'), 'cancelled');
      await c.exited;
    },
  };
}

function crashError(code: number | null, signal: NodeJS.Signals | null): FolioError {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  // V8 aborts (SIGABRT / 134) when the heap limit is hit.
  const oom = signal === 'SIGABRT' || code === 134;
  return new FolioError('FOLIO_RENDER_CRASHED', `The renderer process ${how}${oom ? ' (out of memory)' : ''}`, {
    ...(signal ? { signal } : { exitCode: code }),
  });
}

function deserializeError(e: SerializedError): FolioError {
  const cause = e.causeName ? Object.assign(new Error(e.message), { name: e.causeName }) : undefined;
  return new FolioError(e.code as ErrorCode, e.message, e.details, { cause, public: e.public });
}
