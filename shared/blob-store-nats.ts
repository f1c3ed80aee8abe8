import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { awaitStream, ensureStream, nanos } from './jetstream-resources.ts';
import type { BlobStore } from './blob-store.ts';
import { FolioError } from './errors.ts';

/** The JetStream object store as a blob store: the embedded default when no S3 endpoint is configured. */
export async function createNatsBlobStore(nc: NatsConnection, bucket: string, ttlS: number, replicas = 1, manage = true): Promise<BlobStore> {
  // Object store TTLs are nanoseconds (KV TTLs are milliseconds).
  const ttl = nanos(ttlS * 1000);
  const objm = new Objm(nc);
  let os: ObjectStore;
  if (manage) {
    os = await objm.create(bucket, { ttl, replicas });
    // Objm.create keeps an existing store's settings: bring replicas and TTL up to date.
    await ensureStream(await jetstreamManager(nc), { name: `OBJ_${bucket}`, num_replicas: replicas, max_age: ttl });
  } else {
    await awaitStream(await jetstreamManager(nc), `OBJ_${bucket}`, 60_000);
    os = await objm.open(bucket);
  }
  const missing = (key: string) => new FolioError('FOLIO_BLOB_MISSING', `Object ${key} not found`, { key });

  return {
    kind: 'nats',
    async putFile(key, path) {
      const web = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
      await os.put({ name: key }, web);
    },
    async put(key, data) {
      await os.putBlob({ name: key }, data);
    },
    async get(key) {
      const data = await os.getBlob(key);
      if (!data) throw missing(key);
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    },
    async stream(key) {
      const r = await os.get(key);
      if (!r) throw missing(key);
      return Readable.fromWeb(r.data as never);
    },
    async exists(key) {
      const info = await os.info(key);
      return info !== null && !info.deleted;
    },
    async deletePrefixes(prefixes) {
      const all = await os.list();
      for (const info of all) {
        if (prefixes.some((p) => info.name.startsWith(p))) await os.delete(info.name);
      }
    },
    async list(prefix) {
      return (await os.list()).filter((i) => !i.deleted && i.name.startsWith(prefix)).map((i) => ({ key: i.name, modified: new Date(i.mtime) }));
    },
    async ping() {
      await os.status();
    },
  };
}
