import type { NatsConnection } from '@nats-io/transport-node';
import type { BlobStore } from './blob-store.ts';
import { createNatsBlobStore } from './blob-store-nats.ts';
import { createS3BlobStore } from './blob-store-s3.ts';
import { Buckets } from './subjects.ts';
import type { Config } from './config.ts';

/** S3 when an endpoint is configured, else the JetStream object store. */
export function createBlobStore(config: Config, nc: NatsConnection): Promise<BlobStore> {
  if (config.S3_ENDPOINT) {
    return createS3BlobStore({
      endpoint: config.S3_ENDPOINT,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
    });
  }
  return createNatsBlobStore(nc, Buckets.blobs, config.FOLIO_RESULT_TTL_S, config.FOLIO_REPLICAS, config.FOLIO_NATS_MANAGE);
}
