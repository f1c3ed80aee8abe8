import { runConsumer } from '../../shared/consumer-loop.ts';
import { PageOutcome } from '../../shared/messages.ts';
import { consumerSettings, type Runtime, type Stoppable } from '../../shared/runtime.ts';
import { Slots } from '../../shared/slots.ts';
import { Consumers, Streams } from '../../shared/subjects.ts';
import { createAssembleHandler } from './handler.ts';

/** Page records are small KV writes; a handful in parallel keeps up with many OCR replicas. */
const ASSEMBLER_CONCURRENCY = 8;

export function startAssembler(rt: Runtime): Stoppable {
  const deps = { js: rt.bus.js, cache: rt.bus.cache, jobs: rt.jobs, blobs: rt.blobs, metrics: rt.metrics, log: rt.log.child({ service: 'assembler' }) };
  return runConsumer({
    ...consumerSettings(rt, Consumers.assembler),
    stream: Streams.pageResults,
    consumers: [Consumers.assembler],
    schema: PageOutcome,
    handler: createAssembleHandler(deps),
    // Transient failures (KV, object store) are retried without limit (the consumer's
    // max_deliver is -1); a non-retryable one means the job is gone, so the message is dropped.
    onGiveUp: async (msg, err) => {
      deps.log.warn({ jobId: msg.jobId, page: msg.page, code: err.code }, 'page result dropped');
    },
    slots: new Slots(ASSEMBLER_CONCURRENCY),
    maxDeliver: Number.MAX_SAFE_INTEGER,
    log: deps.log,
  });
}
