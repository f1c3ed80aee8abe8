import type { BlobStore } from '../stores/blob-store.ts';
import { exponentialRetry, type Outcome } from '../bus/consumer-loop.ts';
import { createBlobStore } from '../stores/blob-store-factory.ts';
import { ConfigError, loadConfigOrExit, requireNatsUrl, type Config } from '../config/load.ts';
import { connectNats, jetStreamSettings, setupJetStream, type Bus } from '../bus/jetstream.ts';
import { createJobStore, type JobStore } from '../stores/job-store.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, serveMetrics, type Metrics } from './metrics.ts';
import { startTracing, stopTracing } from './tracing.ts';

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
  const log = createLogger(name, config.logLevel);
  // Off unless an OTLP endpoint is configured (issue 11).
  const tracesUrl = config.tracing.tracesUrl;
  if (tracesUrl)
    startTracing({
      url: tracesUrl,
      service: `folio-${name}`,
      ratio: config.tracing.sampleRatio,
      onError: (err) => log.warn({ err: err.message }, 'traces not sent'),
    });
  const nc = await connectNats(natsUrl, `folio-${name}`, config.nats.auth);
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
    retryDelayMs: exponentialRetry(rt.config.jetstream.retryBaseMs),
    maxDeliver: rt.config.jetstream.maxDeliver,
    ackWaitMs: rt.config.jetstream.ackWaitMs,
    stepDeadlineMs: rt.config.jetstream.stepTimeoutMs,
    onSettled: (outcome: Outcome, _ms: number, code?: string) => {
      rt.metrics.messagesSettled.inc({ consumer: metricsLabel, outcome });
      rt.metrics.messageOutcomes.inc({ consumer: metricsLabel, outcome, code: code ?? 'none' });
    },
  };
}

/**
 * One service run alone (the Deployment's entry point): options from the environment, its runtime,
 * /metrics and /readyz on the metrics port when `ownMetricsPort` (ingest serves them on its HTTP
 * port), stop on signals. A refused setting (one the service checks at start, such as listening open
 * on the network) is one line for the operator: exit code 2 for a bad setting, 1 for a refused start.
 */
export async function runService(
  name: string,
  start: (rt: Runtime) => Promise<Stoppable & { url?: string }> | Stoppable,
  o: { ownMetricsPort: boolean },
): Promise<void> {
  const config = loadConfigOrExit();
  let natsUrl: string;
  try {
    natsUrl = requireNatsUrl(config, name);
  } catch (err) {
    process.stderr.write(`folio: ${(err as ConfigError).message}\n`);
    process.exit(2);
  }
  const rt = await createRuntime(config, name, natsUrl);
  if (o.ownMetricsPort && config.metricsPort) await serveMetrics(rt.metrics, config.metricsPort, '0.0.0.0', () => rt.bus.nc.flush());
  const service = await Promise.resolve()
    .then(() => start(rt))
    .catch((err: Error) => {
      rt.log.fatal(err.message);
      process.exit(1);
    });
  stopOnSignals(rt.log, [service], rt.bus);
  const url = (service as { url?: string }).url;
  if (url) rt.log.info({ url }, `${name} listening`);
  else rt.log.info(`${name} started`);
}
