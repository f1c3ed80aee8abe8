import { exponentialRetry, runConsumer } from '../../shared/consumer-loop.ts';
import { JobSubmitted } from '../../shared/messages.ts';
import type { Runtime, Stoppable } from '../../shared/runtime.ts';
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
    js: rt.bus.js,
    stream: Streams.jobs,
    consumers: [Consumers.rasterizer],
    schema: JobSubmitted,
    handler: createRasterizeHandler(deps),
    onGiveUp: createRasterizeGiveUp(deps),
    slots: new Slots(rt.config.FOLIO_RASTER_CONCURRENCY),
    retryDelayMs: exponentialRetry(rt.config.FOLIO_RETRY_BASE_MS),
    maxDeliver: rt.config.FOLIO_MAX_DELIVER,
    ackWaitMs: rt.config.FOLIO_ACK_WAIT_MS,
    log: deps.log,
    onSettled: (outcome) => rt.metrics.messagesSettled.inc({ consumer: Consumers.rasterizer, outcome }),
  });
}
