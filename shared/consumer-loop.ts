import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import type { Logger } from './logger.ts';
import { FolioError, toFolioError } from './errors.ts';
import { Slots } from './slots.ts';

export interface AttemptContext {
  deliveryCount: number;
  /** True when this delivery is the last one `max_deliver` allows: a failure now is final. */
  lastAttempt: boolean;
  /** Extends the ack deadline; called automatically every ackWait/3 while the handler runs. */
  working(): void;
}

export type Handler<T> = (msg: T, ctx: AttemptContext) => Promise<void>;
/** Called once when a message is given up on (non-retryable error or last attempt). Must be durable before it resolves. */
export type GiveUp<T> = (msg: T, err: FolioError) => Promise<void>;

export interface ConsumerLoopOptions<S extends z.ZodType> {
  js: JetStreamClient;
  stream: string;
  /** Durable consumer names in priority order: a free slot goes to the first one with a message waiting. */
  consumers: string[];
  schema: S;
  handler: Handler<z.infer<S>>;
  onGiveUp: GiveUp<z.infer<S>>;
  slots: Slots;
  maxDeliver: number;
  ackWaitMs: number;
  log: Logger;
  /** Delay before a retryable failure is redelivered, by delivery count (1-based). */
  retryDelayMs?: (deliveryCount: number) => number;
  onSettled?: (outcome: 'ack' | 'retry' | 'term', ms: number) => void;
}

export interface RunningConsumer {
  /** Stop pulling, wait up to graceMs for handlers in flight, nak the rest so another replica takes them at once. */
  stop(graceMs?: number): Promise<void>;
  inFlight(): number;
}

/** Exponential backoff with jitter, so a backend outage of about a minute costs no page. */
// Whole milliseconds: nats-server ignores a fractional nak delay and redelivers at once.
export const exponentialRetry = (baseMs: number) => (n: number) => Math.round(Math.min(60_000, baseMs * 3 ** (n - 1)) * (0.75 + Math.random() / 2));

/**
 * The one place that acks, naks and terms. Each consumer has a puller that holds at most one
 * message while it waits for a free slot, so pages wait in JetStream, not in process memory.
 */
export function runConsumer<S extends z.ZodType>(o: ConsumerLoopOptions<S>): RunningConsumer {
  let stopping = false;
  const inFlight = new Map<JsMsg, Promise<void>>();
  const retryDelay = o.retryDelayMs ?? exponentialRetry(2000);
  const heartbeatMs = Math.max(250, Math.floor(o.ackWaitMs / 3));

  const settle = async (m: JsMsg) => {
    const started = Date.now();
    const deliveryCount = m.info.deliveryCount;
    const lastAttempt = deliveryCount >= o.maxDeliver;
    const beat = setInterval(() => m.working(), heartbeatMs);
    let outcome: 'ack' | 'retry' | 'term' = 'ack';
    try {
      let body: z.infer<S>;
      try {
        body = o.schema.parse(m.json());
      } catch (err) {
        o.log.error({ err, subject: m.subject, seq: m.seq }, 'malformed message dropped');
        outcome = 'term';
        m.term();
        return;
      }
      try {
        await o.handler(body, { deliveryCount, lastAttempt, working: () => m.working() });
        await m.ackAck().catch(() => m.ack());
      } catch (raw) {
        const err = toFolioError(raw);
        if (err.retryable && !lastAttempt && !stopping) {
          outcome = 'retry';
          o.log.warn({ code: err.code, msg: err.message, subject: m.subject, deliveryCount }, 'attempt failed, will retry');
          m.nak(retryDelay(deliveryCount));
          return;
        }
        if (err.retryable && stopping) {
          outcome = 'retry';
          m.nak();
          return;
        }
        try {
          await o.onGiveUp(body, err);
          outcome = 'term';
          o.log.warn({ code: err.code, msg: err.message, subject: m.subject, deliveryCount }, 'giving up on message');
          // Plain term(): nats-server 2.9 ignores term with a reason and redelivers.
          m.term();
        } catch (giveUpErr) {
          outcome = 'retry';
          o.log.error({ err: giveUpErr }, 'could not record failure; message will be redelivered');
          m.nak(retryDelay(deliveryCount));
        }
      }
    } finally {
      clearInterval(beat);
      o.onSettled?.(outcome, Date.now() - started);
    }
  };

  const pullers = o.consumers.map(async (name, priority) => {
    let consumer: Consumer | undefined;
    while (!stopping) {
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
        const p = settle(m).finally(() => {
          inFlight.delete(m);
          o.slots.release();
        });
        inFlight.set(m, p);
      } catch (err) {
        if (stopping) break;
        o.log.warn({ err: (err as Error).message, consumer: name }, 'pull failed, retrying');
        consumer = undefined;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  });

  return {
    inFlight: () => inFlight.size,
    async stop(graceMs = 10_000) {
      stopping = true;
      const all = Promise.allSettled([...inFlight.values()]);
      const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) for (const m of inFlight.keys()) m.nak();
      await Promise.race([Promise.allSettled(pullers), new Promise((r) => setTimeout(r, 2500).unref())]);
    },
  };
}

/** Publish into a work-queue stream with a deterministic message id; resolves when the stream has it. */
export async function publishWork(js: JetStreamClient, subject: string, payload: unknown, msgID: string): Promise<void> {
  await js.publish(subject, JSON.stringify(payload), { msgID });
}
