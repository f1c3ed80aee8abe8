import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DrainLimits {
  /** Body bytes read and discarded after a refusal before the connection is cut instead; 0: always cut. */
  maxBytes: number;
  /** How long the rest of the body may take to arrive before the connection is cut instead. */
  maxMs: number;
  /** Refused bodies drained at once by this process; past that a refused connection is cut (sockets are finite). */
  maxConcurrent?: number;
}

const DEFAULT_MAX_CONCURRENT = 1024;
let draining = 0;

/**
 * After a refusal (401, 429, 503, …) answered before the request body was read: reads and
 * discards the rest of the body, up to a bound, so the connection ends cleanly. Closing with
 * unread bytes in the socket makes the kernel send a reset, and a client still sending its body
 * (Node's fetch) then sees EPIPE instead of the 429 and its Retry-After. The connection stays
 * open for the next request once the body is in; a body past the bound in bytes or time (a huge
 * upload, a client that stalls) has the socket destroyed, as before. Returns false when it will
 * not drain (then the caller closes the connection).
 *
 * Call it before the answer is written: once Node has finished a response it dumps an unread
 * body itself, and a reader attached after that can stall with the socket stopped.
 */
export function drainRefusedBody(req: IncomingMessage, limits: DrainLimits): boolean {
  if (req.complete || req.destroyed) return true;
  if (limits.maxBytes <= 0 || draining >= (limits.maxConcurrent ?? DEFAULT_MAX_CONCURRENT)) return false;
  draining++;
  const socket = req.socket;
  let bytes = 0;
  let finished = false;
  const done = () => {
    if (finished) return;
    finished = true;
    draining--;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', done);
    req.off('close', done);
  };
  const cut = () => {
    done();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) cut();
  };
  const timer = setTimeout(cut, limits.maxMs);
  timer.unref();
  req.on('data', onData);
  req.once('end', done);
  req.once('close', done);
  req.resume();
  return true;
}

/** Refused bodies being drained now (for tests and metrics). */
export const drainsInProgress = () => draining;

/** Requests whose client waits for a `100 Continue` not sent yet: there is no body to drain. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * The body of this request was never looked at: nothing has read it (a refusal at the edge or
 * before the upload is received), so the rest of it can be drained and the connection kept.
 */
export function bodyUntouched(req: IncomingMessage): boolean {
  return !req.complete && !req.readableDidRead && !req.destroyed && !awaitingContinue.has(req);
}

/**
 * `Expect: 100-continue`: the client waits for a go-ahead before sending its body. The go-ahead
 * is sent when a route first reads the body, not on arrival, so a request refused before that
 * (rate limit, a tenant cap, a bad key) is answered before any body is sent. Node then closes
 * the connection after the final answer (it cannot know whether the body will follow).
 */
export function continueOnFirstRead(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read;
  awaitingContinue.add(req);
  req._read = function (this: IncomingMessage, n: number) {
    req._read = read;
    awaitingContinue.delete(req);
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
    return read.call(this, n);
  };
}
