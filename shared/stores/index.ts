/** The stores: page images and results (S3 or the JetStream object store), the job store (KV), the result cache. The S3 store is loaded on demand by the factory, so it is not exported here. */
export * from './blob-store.ts';
export * from './blob-store-factory.ts';
export * from './blob-store-deadline.ts';
export * from './blob-store-nats.ts';
export * from './blob-json.ts';
export * from './job-store.ts';
export * from './result-cache.ts';
