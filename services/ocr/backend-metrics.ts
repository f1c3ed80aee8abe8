import type { BackendGauge, Metrics } from '../../shared/operations/index.ts';
import type { OcrEngine } from './engine.ts';
import type { BackendState } from './engines/vllm/engine.ts';

/**
 * Binds /metrics' per-backend gauges (`backend` label) to the engine's live state, read at scrape
 * time: each vLLM backend's window, pages in flight and whether it is in service. An engine without
 * backends (the embedded CPU engine) shows as one backend named after it, its window its workers.
 */
export function watchBackendMetrics(
  metrics: Pick<Metrics, 'watchBackends'>,
  engine: OcrEngine & { backends?: () => BackendState[] },
  inFlight: () => number = () => 0,
) {
  metrics.watchBackends((): BackendGauge[] =>
    engine.backends
      ? engine.backends().map((b) => ({ backend: b.url, window: b.window, inFlight: b.inFlight, healthy: b.healthy }))
      : [{ backend: engine.name, window: engine.concurrency(), inFlight: inFlight(), healthy: engine.concurrency() > 0 }],
  );
}
