import { runConsumer } from '../../shared/consumer-loop.ts';
import { JobSubmitted } from '../../shared/messages.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/runtime.ts';
import { Slots } from '../../shared/slots.ts';
import { Consumers, Streams } from '../../shared/subjects.ts';
import { createRasterizeGiveUp, createRasterizeHandler } from './handler.ts';

export function startRasterizer(rt: Runtime): Stoppable {
  const deps = {
    js: rt.bus.js,
    kv: rt.bus.jobs,
    jobs: rt.jobs,
    blobs: rt.blobs,
    metrics: rt.metrics,
    log: rt.log.child({ service: 'rasterizer' }),
    limits: {
      maxLongSide: rt.config.FOLIO_MAX_LONG_SIDE,
      maxInputPixels: rt.config.FOLIO_MAX_INPUT_PIXELS,
      maxPages: rt.config.FOLIO_MAX_PAGES,
      tmpDir: rt.config.FOLIO_TMP_DIR,
    },
  };
  return runConsumer({
    ...consumerSettings(rt, Consumers.rasterizer),
    stream: Streams.jobs,
    consumers: [Consumers.rasterizer],
    schema: JobSubmitted,
    handler: createRasterizeHandler(deps),
    onGiveUp: createRasterizeGiveUp(deps),
    slots: new Slots(rt.config.FOLIO_RASTER_CONCURRENCY),
    log: deps.log,
  });
}
