import type { BlobStore } from './blob-store.ts';
import { exponentialRetry, type Outcome } from './consumer-loop.ts';
import { createBlobStore } from './blob-store-factory.ts';
import type { Config } from './config.ts';
import { connectNats, jetStreamSettings, setupJetStream, type Bus } from './jetstream.ts';
import { createJobStore, type JobStore } from './job-store.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { otlpTracesUrl, startTracing, stopTracing } from './tracing.ts';

/** What every service receives: connections and shared helpers, made once per process. */
export interface Runtime {
  config: Readonly<Config>;
  bus: Bus;
  jobs: JobStore;
  blobs: BlobStore;
  metrics: Metrics;
  log: Logger;
}

export async function createRuntime(config: Readonly<Config>, name: string, natsUrl: string, metrics: Metrics = createMetrics()): Promise<Runtime> {
  const log = createLogger(name, config.LOG_LEVEL);
  // Off unless an OTLP endpoint is configured (issue 11).
  const tracesUrl = otlpTracesUrl(config);
  if (tracesUrl) startTracing({ url: tracesUrl, service: `folio-${name}`, ratio: config.OTEL_TRACES_SAMPLER_ARG, onError: (err) => log.warn({ err: err.message }, 'traces not sent') });
  const nc = await connectNats(natsUrl, `folio-${name}`, config.nats);
  const bus = await setupJetStream(nc, jetStreamSettings(config));
  const blobs = await createBlobStore(config, nc);
  return { config, bus, jobs: createJobStore(bus.jobs, bus.jsm), blobs, metrics, log };
}

export interface Stoppable {
  stop(): Promise<void>;
}

/** SIGTERM/SIGINT: stop pulling, let in-flight work finish or go back to the queue, drain NATS. */
export function stopOnSignals(log: Logger, stoppables: Stoppable[], bus?: Bus) {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await Promise.allSettled(stoppables.map((s) => s.stop()));
    await bus?.nc.drain().catch(() => {});
    await stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** The consumer-loop settings every service takes from its runtime (config, client, metrics). */
export function consumerSettings(rt: Runtime, metricsLabel: string) {
  return {
    js: rt.bus.js,
    retryDelayMs: exponentialRetry(rt.config.FOLIO_RETRY_BASE_MS),
    maxDeliver: rt.config.FOLIO_MAX_DELIVER,
    ackWaitMs: rt.config.FOLIO_ACK_WAIT_MS,
    stepDeadlineMs: rt.config.FOLIO_STEP_TIMEOUT_MS,
    onSettled: (outcome: Outcome, _ms: number, code?: string) => {
      rt.metrics.messagesSettled.inc({ consumer: metricsLabel, outcome });
      rt.metrics.messageOutcomes.inc({ consumer: metricsLabel, outcome, code: code ?? 'none' });
    },
  };
}
