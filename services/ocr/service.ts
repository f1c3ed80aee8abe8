import { startServiceLag, runConsumer, PageReady, Slots, withTestFault, Streams } from '../../shared/bus/index.ts';
import { watchBackendMetrics } from './backend-metrics.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/operations/index.ts';
import { createEngineSet } from './engines/create.ts';
import { createOcrGiveUp, createOcrHandler } from './handler.ts';
import { startTenantPullers } from './tenant-pullers.ts';

/** CPU pages take seconds; a stuck call must still end and be retried. */
const CPU_PAGE_TIMEOUT_MS = 5 * 60_000;

export async function startOcr(rt: Runtime): Promise<Stoppable> {
  const log = rt.log.child({ service: 'ocr' });
  const engines = await createEngineSet(rt.config, log);
  // Pages wait in JetStream; a page is pulled only when the engine has a free slot. The slot count
  // is the engine's live window (vLLM: adaptive per backend, 0 while all are down; CPU: one per
  // worker), read on every acquire; the timer lets waiting pullers in when it grows.
  const slots = new Slots(() => engines.default.concurrency());
  const resize = setInterval(() => {
    slots.refresh();
    rt.metrics.ocrWindow.set(slots.capacity);
  }, 200);
  rt.metrics.ocrWindow.set(slots.capacity);
  const deps = {
    js: rt.bus.js,
    jobs: rt.jobs,
    blobs: rt.blobs,
    engines,
    metrics: rt.metrics,
    log,
    pageTimeoutMs: rt.config.ocr.engine === 'vllm' ? rt.config.ocr.vllm.timeoutMs * 3 : CPU_PAGE_TIMEOUT_MS,
  };
  const consumer = runConsumer({
    ...consumerSettings(rt, 'ocr'),
    // The engine call has its own timeout; the step adds time to read the image and store the result.
    stepDeadlineMs: deps.pageTimeoutMs + Math.min(60_000, rt.config.jetstream.stepTimeoutMs),
    stream: Streams.pages,
    // Pullers are added per tenant as tenants appear (fair share); interactive ones come first.
    consumers: [],
    schema: PageReady,
    handler: withTestFault('ocr', rt.config.testFault, createOcrHandler(deps)),
    onGiveUp: createOcrGiveUp(deps),
    slots,
    log,
  });
  const tenants = startTenantPullers({ jsm: rt.bus.jsm, settings: rt.bus.settings, consumer, log });
  // Operators' view (issue 11): every per-tenant consumer's lag, each backend's window and in-flight.
  const lag = startServiceLag(rt, [{ stream: Streams.pages, consumers: 'all' }]);
  watchBackendMetrics(rt.metrics, engines.default, () => consumer.inFlight());
  return {
    async stop() {
      lag.stop();
      clearInterval(resize);
      tenants.stop();
      await consumer.stop();
      await engines.close();
    },
  };
}
