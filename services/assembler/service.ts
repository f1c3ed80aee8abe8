import { startServiceLag, runConsumer, withTestFault, PageOutcome, Slots, Consumers, Streams } from '../../shared/bus/index.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/operations/index.ts';
import { createAssembleGiveUp, createAssembleHandler } from './handler.ts';
import { sweepOrphans } from './orphans.ts';
import { startSweeper } from './sweeper.ts';

/** Page records are small KV writes; a handful in parallel keeps up with many OCR replicas. */
const ASSEMBLER_CONCURRENCY = 8;
/**
 * Page results get twice the usual attempts: with backoff capped at a minute that rides out a
 * NATS or object-store outage of several minutes, while a result that can never be assembled
 * still ends its job (failed, FOLIO_ASSEMBLY_FAILED) instead of being retried forever.
 */
const ASSEMBLER_ATTEMPTS_FACTOR = 2;

export function startAssembler(rt: Runtime): Stoppable {
  const deps = {
    js: rt.bus.js,
    jsm: rt.bus.jsm,
    cache: rt.bus.cache,
    jobs: rt.jobs,
    blobs: rt.blobs,
    metrics: rt.metrics,
    log: rt.log.child({ service: 'assembler' }),
  };
  const consumer = runConsumer({
    ...consumerSettings(rt, Consumers.assembler),
    maxDeliver: rt.config.jetstream.maxDeliver * ASSEMBLER_ATTEMPTS_FACTOR,
    stream: Streams.pageResults,
    consumers: [Consumers.assembler],
    schema: PageOutcome,
    handler: withTestFault('assembler', rt.config.testFault, createAssembleHandler(deps)),
    onGiveUp: createAssembleGiveUp(deps),
    slots: new Slots(ASSEMBLER_CONCURRENCY),
    log: deps.log,
  });
  const sweeper =
    rt.config.assembler.sweepIntervalS > 0
      ? startSweeper({ ...deps, jsm: rt.bus.jsm, stuckAfterMs: rt.config.assembler.stuckAfterS * 1000 }, rt.config.assembler.sweepIntervalS * 1000)
      : undefined;
  const orphans =
    rt.config.assembler.orphanSweepIntervalS > 0
      ? setInterval(
          () => void sweepOrphans(deps).catch((err) => deps.log.warn({ err: (err as Error).message }, 'orphan sweep failed')),
          rt.config.assembler.orphanSweepIntervalS * 1000,
        ).unref()
      : undefined;
  const lag = startServiceLag(rt, [{ stream: Streams.pageResults, consumers: [Consumers.assembler] }]);
  return {
    async stop() {
      lag.stop();
      sweeper?.stop();
      clearInterval(orphans);
      await consumer.stop();
    },
  };
}
