/**
 * The child-process side of a renderer: runs one call at a time from the parent and answers over
 * the IPC channel. pdf.js and sharp live only in such processes, so a hostile file that hangs,
 * exhausts memory or crashes native code takes down this process, never a service.
 */
import { FolioError, isFolioError, toFolioError, type ErrorCode } from '../operations/errors.ts';
import type { FromChild, SerializedError, ToChild } from './protocol.ts';

export interface CallContext {
  /** Sends a progress event to the caller (e.g. "started page 7"), before the result. */
  emit(event: unknown): void;
  /** Aborted when the caller cancels this call. */
  signal: AbortSignal;
}

export type OpHandler = (payload: never, ctx: CallContext) => Promise<unknown>;

/**
 * Serves calls until the parent goes away. `fallbackCode` is the code given to non-Folio errors
 * thrown by a handler (a library's own exception).
 */
export function serveCalls(handlers: Record<string, OpHandler>, fallbackCode: ErrorCode = 'FOLIO_INTERNAL'): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a renderer must run as a child process with an IPC channel');
  const post = (m: FromChild) => send(m);
  // The parent died (even by SIGKILL, which gives it no chance to kill us): nothing is waiting for
  // our work, so stop at once rather than render for nobody.
  process.on('disconnect', () => process.exit(0));
  const running = new Map<number, AbortController>();
  let queue = Promise.resolve();

  process.on('message', (m: ToChild) => {
    if (m.type === 'cancel') {
      running.get(m.id)?.abort();
      return;
    }
    const abort = new AbortController();
    running.set(m.id, abort);
    queue = queue.then(async () => {
      try {
        const handler = handlers[m.op];
        if (!handler) throw new Error(`unknown renderer operation ${m.op}`);
        const result = await handler(m.payload as never, { emit: (event) => post({ type: 'event', id: m.id, event }), signal: abort.signal });
        post({ type: 'result', id: m.id, result });
      } catch (err) {
        post({ type: 'error', id: m.id, error: serializeError(err, fallbackCode) });
      } finally {
        running.delete(m.id);
      }
    });
  });
  post({ type: 'ready' });
}

function serializeError(err: unknown, fallbackCode: ErrorCode): SerializedError {
  const e = isFolioError(err)
    ? err
    : err instanceof Error
      ? new FolioError(fallbackCode, err.message, undefined, { cause: err, public: false })
      : toFolioError(err);
  const cause = e.cause as { name?: unknown } | undefined;
  return {
    code: e.code,
    message: e.message,
    ...(e.details ? { details: e.details } : {}),
    public: e.public,
    ...(typeof cause?.name === 'string' ? { causeName: cause.name } : {}),
  };
}
