import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../operations/logger.ts';
import type { Metrics } from '../operations/metrics.ts';
import { Streams } from './subjects.ts';

/** What one service watches: its own consumers (by name, or every consumer of the stream). */
export interface LagSource {
  stream: string;
  consumers: string[] | 'all';
}

/** The work-queue streams: their message count is the work not done yet. */
export const WorkStreams = [Streams.jobs, Streams.pages, Streams.pageResults] as const;

export interface ConsumerLagOptions {
  jsm: JetStreamManager;
  metrics: Pick<Metrics, 'consumerPending' | 'consumerAckPending' | 'consumerRedelivered' | 'streamMessages' | 'lagReadErrors'>;
  sources: LagSource[];
  /** Streams whose message count is reported (default: the work queues). */
  streams?: readonly string[];
  intervalMs: number;
  log: Logger;
}

/**
 * Consumer lag for /metrics: pending and ack-pending per consumer, read from JetStream consumer
 * info on a timer — never on the message path. Each service reads its own consumers (its NATS
 * user may read nothing else); replicas report the same numbers, so dashboards take `max by
 * (consumer)`. A consumer that disappears (an idle tenant's) loses its series.
 */
export function startConsumerLag(o: ConsumerLagOptions): { refresh(): Promise<void>; stop(): void } {
  const streams = o.streams ?? WorkStreams;
  let seen = new Set<string>();
  let running: Promise<void> | undefined;
  let failing = false;

  const read = async () => {
    const now = new Set<string>();
    const put = (stream: string, c: { name: string; num_pending: number; num_ack_pending: number; num_redelivered: number }) => {
      const labels = { stream, consumer: c.name };
      o.metrics.consumerPending.set(labels, c.num_pending);
      o.metrics.consumerAckPending.set(labels, c.num_ack_pending);
      o.metrics.consumerRedelivered.set(labels, c.num_redelivered);
      now.add(JSON.stringify([stream, c.name]));
    };
    // One failed read (a consumer not created yet) must not hide the others.
    const errors: unknown[] = [];
    const attempt = (p: Promise<void>) => p.catch((err) => void errors.push(err));
    for (const s of o.sources) {
      if (s.consumers === 'all') {
        await attempt(
          (async () => {
            for await (const c of o.jsm.consumers.list(s.stream)) put(s.stream, c);
          })(),
        );
      } else {
        for (const name of s.consumers) await attempt(o.jsm.consumers.info(s.stream, name).then((c) => put(s.stream, c)));
      }
    }
    for (const stream of streams) await attempt(o.jsm.streams.info(stream).then((i) => void o.metrics.streamMessages.set({ stream }, i.state.messages)));
    for (const key of seen) {
      if (now.has(key)) continue;
      const [stream, consumer] = JSON.parse(key) as [string, string];
      for (const g of [o.metrics.consumerPending, o.metrics.consumerAckPending, o.metrics.consumerRedelivered]) g.remove({ stream, consumer });
    }
    seen = now;
    if (errors.length > 0) throw errors[0];
  };

  const refresh = () =>
    (running ??= read()
      .then(() => (failing = false))
      .catch((err) => {
        o.metrics.lagReadErrors.inc();
        // Logged once per outage: the counter says how long it lasted.
        if (!failing) o.log.warn({ err: (err as Error).message }, 'could not read consumer lag');
        failing = true;
      })
      .then(() => undefined)
      .finally(() => (running = undefined)));

  const timer = setInterval(() => void refresh(), o.intervalMs).unref();
  void refresh();
  return { refresh, stop: () => clearInterval(timer) };
}

/** A service's lag gauges from its runtime: its own consumers, and the work streams when `streams` is given (ingest). */
export function startServiceLag(
  rt: { bus: { jsm: JetStreamManager }; metrics: ConsumerLagOptions['metrics']; config: { jetstream: { lagIntervalMs: number } }; log: Logger },
  sources: LagSource[],
  streams: readonly string[] = [],
) {
  return startConsumerLag({ jsm: rt.bus.jsm, metrics: rt.metrics, sources, streams, intervalMs: rt.config.jetstream.lagIntervalMs, log: rt.log });
}
