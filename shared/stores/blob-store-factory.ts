import type { NatsConnection } from '@nats-io/transport-node';
import type { BlobStore } from './blob-store.ts';
import { createNatsBlobStore } from './blob-store-nats.ts';
import { withDeadlines } from './blob-store-deadline.ts';
import { Buckets } from '../bus/subjects.ts';
import type { Config } from '../config/load.ts';

/**
 * S3 when an endpoint is configured, else the JetStream object store; every call under a deadline.
 * The S3 client is imported only when used: minio and its XML stack cost every service several MB
 * of resident memory on the (default) JetStream object store.
 */
export async function createBlobStore(config: Config, nc: NatsConnection): Promise<BlobStore> {
  const store = config.blobs.s3?.endpoint
    ? await (
        await import('./blob-store-s3.ts')
      ).createS3BlobStore({
        endpoint: config.blobs.s3?.endpoint,
        accessKey: config.blobs.s3?.accessKey,
        secretKey: config.blobs.s3?.secretKey,
        bucket: config.blobs.s3?.bucket,
        region: config.blobs.s3?.region,
        expireAfterS: config.jetstream.resultTtlS,
      })
    : await createNatsBlobStore(nc, Buckets.blobs, config.jetstream.resultTtlS, config.jetstream.replicas, config.nats.manage);
  return withDeadlines(store, config.blobs.timeoutMs);
}
