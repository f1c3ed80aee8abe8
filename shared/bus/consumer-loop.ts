import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { z } from 'zod';
import type { Logger } from '../operations/logger.ts';
import { FolioError, toFolioError } from '../operations/errors.ts';
import { Slots } from './slots.ts';
import { SpanKind, extractTrace, inSpan, injectTrace } from '../operations/tracing.ts';

export interface AttemptContext {
  deliveryCount: number;
  /** The message's subject: handlers read its tokens through the parsers of subjects.ts. */
  subject: string;
  /** The message's stream sequence: the same on every redelivery, so it can name the attempt's effect (e.g. a webhook id). */
  seq: number;
  /** True when this delivery is the last one the budget allows: a failure now is final. */
  lastAttempt: boolean;
  /** Reports progress: extends the ack deadline and restarts the step deadline. */
  working(): void;
  /** Aborted when the current step passes its deadline; hand it to anything that can be cancelled. */
  signal: AbortSignal;
}

export type Handler<T> = (msg: T, ctx: AttemptContext) => Promise<void>;
/** Called once when a message is given up on (non-retryable error or budget spent). Must be durable before it resolves. */
export type GiveUp<T> = (msg: T, err: FolioError) => Promise<void>;
export type Outcome = 'ack' | 'retry' | 'term' | 'timeout' | 'exhausted';

export interface ConsumerLoopOptions<S extends z.ZodType> {
  js: JetStreamClient;
  stream: string;
  /** Durable consumer names in priority order: a free slot goes to the first one with a message waiting. */
  consumers: string[];
  schema: S;
  handler: Handler<z.infer<S>>;
  onGiveUp: GiveUp<z.infer<S>>;
  slots: Slots;
  /**
   * Attempts per message. JetStream counts deliveries durably before the handler runs and the
   * consumers have no max_deliver, so a delivery past the budget is given up on without running:
   * a process that dies (or hangs) on every attempt still ends the message with a code.
   */
  maxDeliver: number;
  ackWaitMs: number;
  /** A step with no ctx.working() for this long is abandoned: its slot is freed and the message retried. */
  stepDeadlineMs: number;
  log: Logger;
  /**
   * Messages this consumer has nothing to do for (e.g. progress events on a consumer of job ends):
   * acked unread, so a filter wider than the work costs no parse and no error.
   */
  ignore?: (subject: string) => boolean;
  /** Delay before a retryable failure is redelivered, by delivery count (1-based). */
  retryDelayMs?: (deliveryCount: number) => number;
  /** code: the error code behind a retry, timeout, term or exhaustion (undefined for an ack). */
  onSettled?: (outcome: Outcome, ms: number, code?: string) => void;
}

export interface RunningConsumer {
  /** Starts pulling from another durable consumer (e.g. a tenant that just appeared), at the given priority. */
  add(name: string, priority: number): void;
  /** Stops pulling from a consumer; messages in flight finish normally. */
  remove(name: string): void;
  consumers(): string[];
  /** Stop pulling, wait up to graceMs for handlers in flight, nak the rest so another replica takes them at once. */
  stop(graceMs?: number): Promise<void>;
  inFlight(): number;
}

/** Exponential backoff with jitter, so a backend outage of about a minute costs no page. */
// Whole milliseconds: nats-server ignores a fractional nak delay and redelivers at once.
export const exponentialRetry = (baseMs: number) => (n: number) => Math.round(Math.min(60_000, baseMs * 3 ** (n - 1)) * (0.75 + Math.random() / 2));

const exhausted = (n: number) =>
  new FolioError('FOLIO_ATTEMPTS_EXHAUSTED', `Delivered ${n} times without a result: the worker crashed, hung or failed on every attempt`);

/**
 * Runs a handler under a step deadline that ctx.working() restarts, and keeps the message's ack
 * deadline alive only while the step is within it: a hung handler stops heartbeating, so even if
 * this process cannot act (a blocked event loop), JetStream redelivers the message elsewhere.
 */
async function runWithDeadline(m: JsMsg, run: (ctx: Pick<AttemptContext, 'working' | 'signal'>) => Promise<void>, stepMs: number, heartbeatMs: number) {
  const abort = new AbortController();
  let deadline = Date.now() + stepMs;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    const check = () => {
      const left = deadline - Date.now();
      if (left <= 0) {
        const err = new FolioError('FOLIO_STEP_TIMEOUT', `No progress for ${stepMs} ms`);
        abort.abort(err);
        reject(err);
      } else timer = setTimeout(check, left);
    };
    timer = setTimeout(check, stepMs);
  });
  const beat = setInterval(() => {
    if (Date.now() < deadline) m.working();
  }, heartbeatMs);
  const working = () => {
    deadline = Date.now() + stepMs;
    m.working();
  };
  try {
    await Promise.race([run({ working, signal: abort.signal }), expired]);
  } finally {
    clearInterval(beat);
    clearTimeout(timer);
  }
}

/**
 * The one place that acks, naks and terms. Each consumer has a puller that holds at most one
 * message while it waits for a free slot, so pages wait in JetStream, not in process memory.
 */
export function runConsumer<S extends z.ZodType>(o: ConsumerLoopOptions<S>): RunningConsumer {
  let stopping = false;
  const inFlight = new Map<JsMsg, Promise<void>>();
  const pullers = new Map<string, { stop: boolean; done: Promise<void> }>();
  const retryDelay = o.retryDelayMs ?? exponentialRetry(2000);
  const heartbeatMs = Math.max(250, Math.floor(o.ackWaitMs / 3));
  // Why a message was not acked, for the outcome-by-code metric.
  const codes = new WeakMap<JsMsg, string>();

  const giveUp = async (m: JsMsg, body: z.infer<S>, err: FolioError): Promise<Outcome> => {
    codes.set(m, err.code);
    try {
      await o.onGiveUp(body, err);
      o.log.warn({ code: err.code, msg: err.message, subject: m.subject, deliveryCount: m.info.deliveryCount }, 'giving up on message');
      // Plain term(): nats-server 2.9 ignores term with a reason and redelivers.
      m.term();
      return err.code === 'FOLIO_ATTEMPTS_EXHAUSTED' ? 'exhausted' : 'term';
    } catch (giveUpErr) {
      o.log.error({ err: giveUpErr }, 'could not record failure; message will be redelivered');
      m.nak(retryDelay(m.info.deliveryCount));
      return 'retry';
    }
  };

  const settle = async (m: JsMsg): Promise<Outcome> => {
    const deliveryCount = m.info.deliveryCount;
    if (o.ignore?.(m.subject)) {
      m.ack();
      return 'ack';
    }
    let body: z.infer<S>;
    try {
      body = o.schema.parse(m.json());
    } catch (err) {
      o.log.error({ err, subject: m.subject, seq: m.seq }, 'malformed message dropped');
      codes.set(m, 'malformed_message');
      m.term();
      return 'term';
    }
    if (deliveryCount > o.maxDeliver) return giveUp(m, body, exhausted(deliveryCount - 1));
    try {
      await runWithDeadline(
        m,
        (c) => o.handler(body, { ...c, deliveryCount, subject: m.subject, seq: m.seq, lastAttempt: deliveryCount >= o.maxDeliver }),
        o.stepDeadlineMs,
        heartbeatMs,
      );
      await m.ackAck().catch(() => m.ack());
      return 'ack';
    } catch (raw) {
      const err = toFolioError(raw);
      codes.set(m, err.code);
      const timedOut = err.code === 'FOLIO_STEP_TIMEOUT';
      if (err.retryable && stopping) {
        m.nak();
        return 'retry';
      }
      if (err.retryable && deliveryCount < o.maxDeliver) {
        o.log.warn({ code: err.code, msg: err.message, subject: m.subject, deliveryCount }, 'attempt failed, will retry');
        m.nak(retryDelay(deliveryCount));
        return timedOut ? 'timeout' : 'retry';
      }
      return giveUp(m, body, err);
    }
  };

  const pull = async (name: string, priority: number, state: { stop: boolean }) => {
    let consumer: Consumer | undefined;
    while (!stopping && !state.stop) {
      try {
        consumer ??= await o.js.consumers.get(o.stream, name);
        const m = await consumer.next({ expires: 2000 });
        if (!m) continue;
        if (stopping) {
          m.nak();
          break;
        }
        const beat = setInterval(() => m.working(), heartbeatMs);
        await o.slots.acquire(priority);
        clearInterval(beat);
        const started = Date.now();
        // The message's trace (if it carries one) continues here; what the handler publishes carries it on.
        const traced = inSpan(
          `${o.stream} process`,
          {
            kind: SpanKind.consumer,
            parent: extractTrace(m.headers),
            attributes: {
              'messaging.system': 'nats',
              'messaging.destination.name': m.subject,
              'messaging.consumer.group.name': name,
              'folio.delivery_count': m.info.deliveryCount,
            },
          },
          async (span) => {
            const outcome = await settle(m);
            span?.setAttribute('folio.outcome', outcome);
            span?.setAttribute('error.type', codes.get(m));
            return outcome;
          },
        );
        const p = traced
          .then((outcome) => o.onSettled?.(outcome, Date.now() - started, codes.get(m)))
          .finally(() => {
            inFlight.delete(m);
            o.slots.release();
          });
        inFlight.set(m, p);
      } catch (err) {
        if (stopping || state.stop) break;
        o.log.warn({ err: (err as Error).message, consumer: name }, 'pull failed, retrying');
        consumer = undefined;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  const add = (name: string, priority: number) => {
    if (pullers.has(name) || stopping) return;
    const state = { stop: false, done: Promise.resolve() };
    state.done = pull(name, priority, state);
    pullers.set(name, state);
  };
  o.consumers.forEach((name, priority) => add(name, priority));

  return {
    add,
    remove(name) {
      const p = pullers.get(name);
      if (p) p.stop = true;
      pullers.delete(name);
    },
    consumers: () => [...pullers.keys()],
    inFlight: () => inFlight.size,
    async stop(graceMs = 10_000) {
      stopping = true;
      const all = Promise.allSettled([...inFlight.values()]);
      const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) for (const m of inFlight.keys()) m.nak();
      const done = Promise.allSettled([...pullers.values()].map((p) => p.done));
      await Promise.race([done, new Promise((r) => setTimeout(r, 2500).unref())]);
    },
  };
}

/** Publish into a work-queue stream with a deterministic message id; resolves when the stream has it. */
export async function publishWork(js: JetStreamClient, subject: string, payload: unknown, msgID: string): Promise<void> {
  // With tracing on, the current trace travels in the message's headers (W3C traceparent).
  await inSpan(
    `${subject.split('.').slice(0, 3).join('.')} publish`,
    { kind: SpanKind.producer, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
    async (span) => {
      const h = span ? headers() : undefined;
      if (h) injectTrace(h);
      await js.publish(subject, JSON.stringify(payload), { msgID, ...(h ? { headers: h } : {}) });
    },
  );
}
