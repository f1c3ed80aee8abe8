import type { NatsConnection } from '@nats-io/transport-node';
import type { BlobStore } from './blob-store.ts';
import { createNatsBlobStore } from './blob-store-nats.ts';
import { withDeadlines } from './blob-store-deadline.ts';
import { Buckets } from './subjects.ts';
import type { Config } from './config.ts';

/**
 * S3 when an endpoint is configured, else the JetStream object store; every call under a deadline.
 * The S3 client is imported only when used: minio and its XML stack cost every service several MB
 * of resident memory on the (default) JetStream object store.
 */
export async function createBlobStore(config: Config, nc: NatsConnection): Promise<BlobStore> {
  const store = config.S3_ENDPOINT
    ? await (await import('./blob-store-s3.ts')).createS3BlobStore({
        endpoint: config.S3_ENDPOINT,
        accessKey: config.S3_ACCESS_KEY,
        secretKey: config.S3_SECRET_KEY,
        bucket: config.S3_BUCKET,
        region: config.S3_REGION,
        expireAfterS: config.FOLIO_RESULT_TTL_S,
      })
    : await createNatsBlobStore(nc, Buckets.blobs, config.FOLIO_RESULT_TTL_S, config.FOLIO_REPLICAS, config.FOLIO_NATS_MANAGE);
  return withDeadlines(store, config.FOLIO_BLOB_TIMEOUT_MS);
}
