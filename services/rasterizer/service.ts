import { startServiceLag, runConsumer, JobSubmitted, Slots, Consumers, Streams } from '../../shared/bus/index.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/operations/index.ts';
import { createRasterizeGiveUp, createRasterizeHandler } from './handler.ts';
import { createRenderers } from './renderers.ts';

export function startRasterizer(rt: Runtime): Stoppable {
  const log = rt.log.child({ service: 'rasterizer' });
  const renderers = createRenderers({ size: rt.config.rasterizer.concurrency, memoryMb: rt.config.render.memoryMb, log, metrics: rt.metrics });
  const deps = {
    js: rt.bus.js,
    kv: rt.bus.jobs,
    jobs: rt.jobs,
    blobs: rt.blobs,
    metrics: rt.metrics,
    log,
    renderers,
    limits: {
      maxLongSide: rt.config.limits.maxLongSide,
      maxInputPixels: rt.config.limits.maxInputPixels,
      maxPages: rt.config.limits.maxPages,
      tmpDir: rt.config.tmpDir,
      openTimeoutMs: rt.config.render.openTimeoutMs,
      pageTimeoutMs: rt.config.render.pageTimeoutMs,
      testFault: rt.config.testFault,
    },
  };
  const consumer = runConsumer({
    ...consumerSettings(rt, Consumers.rasterizer),
    stream: Streams.jobs,
    consumers: [Consumers.rasterizer],
    schema: JobSubmitted,
    handler: createRasterizeHandler(deps),
    onGiveUp: createRasterizeGiveUp(deps),
    slots: new Slots(rt.config.rasterizer.concurrency),
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
