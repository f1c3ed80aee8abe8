import { startServiceLag } from '../../shared/consumer-lag.ts';
import { runConsumer } from '../../shared/consumer-loop.ts';
import { JobSubmitted } from '../../shared/messages.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/runtime.ts';
import { Slots } from '../../shared/slots.ts';
import { Consumers, Streams } from '../../shared/subjects.ts';
import { createRasterizeGiveUp, createRasterizeHandler } from './handler.ts';
import { createRenderers } from './renderers.ts';

export function startRasterizer(rt: Runtime): Stoppable {
  const log = rt.log.child({ service: 'rasterizer' });
  const renderers = createRenderers({ size: rt.config.FOLIO_RASTER_CONCURRENCY, memoryMb: rt.config.FOLIO_RENDER_MEMORY_MB, log, metrics: rt.metrics });
  const deps = {
    js: rt.bus.js,
    kv: rt.bus.jobs,
    jobs: rt.jobs,
    blobs: rt.blobs,
    metrics: rt.metrics,
    log,
    renderers,
    limits: {
      maxLongSide: rt.config.FOLIO_MAX_LONG_SIDE,
      maxInputPixels: rt.config.FOLIO_MAX_INPUT_PIXELS,
      maxPages: rt.config.FOLIO_MAX_PAGES,
      tmpDir: rt.config.FOLIO_TMP_DIR,
      openTimeoutMs: rt.config.FOLIO_RENDER_OPEN_TIMEOUT_MS,
      pageTimeoutMs: rt.config.FOLIO_RENDER_PAGE_TIMEOUT_MS,
      testFault: rt.config.FOLIO_TEST_FAULT,
    },
  };
  const consumer = runConsumer({
    ...consumerSettings(rt, Consumers.rasterizer),
    stream: Streams.jobs,
    consumers: [Consumers.rasterizer],
    schema: JobSubmitted,
    handler: createRasterizeHandler(deps),
    onGiveUp: createRasterizeGiveUp(deps),
    slots: new Slots(rt.config.FOLIO_RASTER_CONCURRENCY),
    log: deps.log,
  });
  const lag = startServiceLag(rt, [{ stream: Streams.jobs, consumers: [Consumers.rasterizer] }]);
  return {
    async stop() {
      lag.stop();
      await consumer.stop();
      await renderers.close();
    },
  };
}
