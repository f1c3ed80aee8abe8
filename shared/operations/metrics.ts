import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process. In one-machine mode all four services share it and ingest serves it
 * at /metrics; a service running alone serves it on its metrics port (options.metricsPort).
 */
export function createMetrics(registry = new Registry()) {
  // Standard names (process_*, nodejs_*) so stock dashboards work; minus three gauges prom-client
  // names *_total, which `promtool check metrics` rejects (only counters may end in _total).
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const r = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'folio_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: r,
    }),
    httpDuration: new Histogram({
      name: 'folio_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    jobsSubmitted: new Counter({ name: 'folio_jobs_submitted_total', help: 'Jobs accepted', labelNames: ['media_type'], registers: r }),
    /** Uploads answered from the result cache (also counted in jobs submitted, finished and job duration). */
    cacheHits: new Counter({ name: 'folio_cache_hits_total', help: 'Uploads answered from the result cache with an earlier identical job', registers: r }),
    jobsFinished: new Counter({ name: 'folio_jobs_finished_total', help: 'Jobs that reached a terminal status', labelNames: ['status'], registers: r }),
    uploadsRejected: new Counter({ name: 'folio_uploads_rejected_total', help: 'Uploads refused, by error code', labelNames: ['code'], registers: r }),
    pagesRendered: new Counter({ name: 'folio_pages_rendered_total', help: 'Pages rasterized', registers: r }),
    renderDuration: new Histogram({
      name: 'folio_page_render_seconds',
      help: 'Time to render and store one page',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: r,
    }),
    pagesOcr: new Counter({ name: 'folio_pages_ocr_total', help: 'Pages recognised, by engine and outcome', labelNames: ['engine', 'outcome'], registers: r }),
    ocrDuration: new Histogram({
      name: 'folio_page_ocr_seconds',
      help: 'Time an engine took for one page',
      labelNames: ['engine'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128],
      registers: r,
    }),
    ocrInFlight: new Gauge({ name: 'folio_ocr_pages_in_flight', help: 'Pages being recognised now', registers: r }),
    ocrWindow: new Gauge({ name: 'folio_ocr_window', help: 'Pages the OCR service lets in flight (flow-control window)', registers: r }),
    messagesSettled: new Counter({
      name: 'folio_messages_settled_total',
      help: 'Work-queue messages by consumer and outcome',
      labelNames: ['consumer', 'outcome'],
      registers: r,
    }),
    // Sandboxed rendering (issue 6): renderer processes killed or lost, by cause (timeout | crash | memory).
    renderersLost: new Counter({
      name: 'folio_renderers_lost_total',
      help: 'Renderer processes killed or crashed, by cause',
      labelNames: ['cause'],
      registers: r,
    }),
    pagesRenderFailed: new Counter({
      name: 'folio_pages_render_failed_total',
      help: 'Pages that could not be rendered, by error code',
      labelNames: ['code'],
      registers: r,
    }),
    // --- Answer quality (issue 18): confidence, suspect pages, retries and fallbacks ---
    pageConfidence: new Histogram({
      name: 'folio_page_confidence',
      help: 'Confidence of each kept page answer (0-1), by engine',
      labelNames: ['engine'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registers: r,
    }),
    pageRepetition: new Histogram({
      name: 'folio_page_repetition',
      help: 'Share of repeated text in each kept page answer (0-1), by engine',
      labelNames: ['engine'],
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1],
      registers: r,
    }),
    pagesSuspect: new Counter({
      name: 'folio_pages_suspect_total',
      help: 'Kept page answers flagged suspect, by engine and reason',
      labelNames: ['engine', 'reason'],
      registers: r,
    }),
    pageRetries: new Counter({
      name: 'folio_page_retries_total',
      help: 'Page reads that were not kept and led to another try, by engine and reason',
      labelNames: ['engine', 'reason'],
      registers: r,
    }),
    pageFallbacks: new Counter({
      name: 'folio_page_fallbacks_total',
      help: "Pages answered by a fallback engine, by the engine that answered and the first engine's reason",
      labelNames: ['engine', 'reason'],
      registers: r,
    }),
    // --- Operators' view (issue 11): lag, end-to-end latency, outcomes by code, per-backend capacity ---
    ...operatorMetrics(r),
  };
}

/** One vLLM backend (or the CPU engine) as the OCR service sees it at scrape time. */
export interface BackendGauge {
  backend: string;
  window: number;
  inFlight: number;
  healthy: boolean;
}

function operatorMetrics(r: Registry[]) {
  // Read at scrape time from the OCR engine (services/ocr/backend-metrics.ts binds it): no state copied, nothing to go stale.
  let backends: () => BackendGauge[] = () => [];
  const perBackend = (name: string, help: string, pick: (b: BackendGauge) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['backend'],
      registers: r,
      collect() {
        this.reset();
        for (const b of backends()) this.set({ backend: b.backend }, pick(b));
      },
    });
  return {
    /** JetStream consumer info, read every options.jetstream.lagIntervalMs by the service that consumes (shared/bus/consumer-lag.ts). */
    consumerPending: new Gauge({
      name: 'folio_consumer_pending_messages',
      help: 'Messages waiting for a consumer, not yet delivered (JetStream num_pending)',
      labelNames: ['stream', 'consumer'],
      registers: r,
    }),
    consumerAckPending: new Gauge({
      name: 'folio_consumer_ack_pending_messages',
      help: 'Messages delivered to a consumer and not yet acked (JetStream num_ack_pending)',
      labelNames: ['stream', 'consumer'],
      registers: r,
    }),
    consumerRedelivered: new Gauge({
      name: 'folio_consumer_redelivered_messages',
      help: 'Messages being redelivered to a consumer (JetStream num_redelivered)',
      labelNames: ['stream', 'consumer'],
      registers: r,
    }),
    /** Work-queue streams hold exactly the work not yet done: what autoscalers scale on (any service reports it, so it exists at zero workers). */
    streamMessages: new Gauge({
      name: 'folio_stream_messages',
      help: 'Messages in a work-queue stream (waiting or in flight)',
      labelNames: ['stream'],
      registers: r,
    }),
    lagReadErrors: new Counter({
      name: 'folio_lag_read_errors_total',
      help: 'Failed reads of JetStream consumer or stream info for the lag gauges',
      registers: r,
    }),
    /** Observed once per job by whoever ends it (shared/bus/job-finish.ts): upload accepted → completed, partial or failed. */
    jobDuration: new Histogram({
      name: 'folio_job_duration_seconds',
      help: 'End-to-end job latency, from the accepted upload to its terminal status',
      labelNames: ['status'],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: r,
    }),
    /** Every settled work message (a page, for the ocr consumer) by outcome and the error code behind it ("none" for an ack). */
    messageOutcomes: new Counter({
      name: 'folio_message_outcomes_total',
      help: 'Work-queue messages by consumer, outcome and error code',
      labelNames: ['consumer', 'outcome', 'code'],
      registers: r,
    }),
    backendWindow: perBackend('folio_ocr_backend_window', 'Adaptive concurrency window of one OCR backend (0 while it is out of service)', (b) =>
      b.healthy ? b.window : 0,
    ),
    backendInFlight: perBackend('folio_ocr_backend_in_flight', 'Pages being recognised on one OCR backend now', (b) => b.inFlight),
    backendUp: perBackend('folio_ocr_backend_up', 'Whether an OCR backend is in service (1) or taken out and being probed (0)', (b) => (b.healthy ? 1 : 0)),
    /** Binds the per-backend gauges to the engine's live state. */
    watchBackends(read: () => BackendGauge[]) {
      backends = read;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A bare /metrics endpoint for a service that runs without ingest's HTTP server, with the probes
 * an orchestrator needs: /healthz (the process answers) and /readyz (`ready` resolves within 2 s,
 * e.g. a NATS round trip).
 */
export function serveMetrics(metrics: Metrics, port: number, host = '0.0.0.0', ready: () => Promise<unknown> = async () => {}): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.url === '/readyz') {
      const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref());
      const ok = await Promise.race([ready(), deadline]).then(
        () => true,
        () => false,
      );
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(ok ? '{"status":"ready"}' : '{"status":"not ready"}');
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}
