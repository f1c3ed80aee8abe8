/** The bus: subjects, message schemas, JetStream set-up, the one consumer loop, consumer lag, job completion. */
export * from './subjects.ts';
export * from './messages.ts';
export * from './page-range.ts';
export * from './jetstream.ts';
export * from './jetstream-resources.ts';
export * from './consumer-loop.ts';
export * from './consumer-lag.ts';
export * from './slots.ts';
export * from './fault-hook.ts';
export * from './job-finish.ts';
export * from './local-nats.ts';
