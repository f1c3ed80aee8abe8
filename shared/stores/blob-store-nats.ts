import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { headers, nuid, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { awaitStream, ensureStream, nanos } from '../bus/jetstream-resources.ts';
import type { BlobStore } from './blob-store.ts';
import { FolioError } from '../operations/errors.ts';

/** The object store's chunk size (nats.js default), and the most chunks a read fetches one by one. */
const CHUNK = 128 * 1024;
const DIRECT_READ_MAX_CHUNKS = 16;
/** Nats-Expected-Last-Subject-Sequence failed: the object already exists. */
const WRONG_LAST_SEQUENCE = 10071;

/** The object store's meta record (what nats.js writes and reads under `$O.<bucket>.M.<name>`). */
interface ObjectMeta {
  name: string;
  bucket: string;
  nuid: string;
  size: number;
  chunks: number;
  digest: string;
  deleted?: boolean;
  options?: { link?: unknown; max_chunk_size?: number };
}

// nats.js names meta subjects by base64url *with* padding, and writes digests the same way.
const b64urlPadded = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
const digestOf = (data: Uint8Array) => `SHA-256=${b64urlPadded(createHash('sha256').update(data).digest())}`;

/** The JetStream object store as a blob store: the embedded default when no S3 endpoint is configured. */
export async function createNatsBlobStore(nc: NatsConnection, bucket: string, ttlS: number, replicas = 1, manage = true): Promise<BlobStore> {
  // Object store TTLs are nanoseconds (KV TTLs are milliseconds).
  const ttl = nanos(ttlS * 1000);
  const objm = new Objm(nc);
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `OBJ_${bucket}`;
  let os: ObjectStore;
  if (manage) {
    os = await objm.create(bucket, { ttl, replicas });
    // Objm.create keeps an existing store's settings: bring replicas and TTL up to date.
    await ensureStream(jsm, { name: stream, num_replicas: replicas, max_age: ttl });
  } else {
    await awaitStream(jsm, stream, 60_000);
    os = await objm.open(bucket);
  }
  const missing = (key: string) => new FolioError('FOLIO_BLOB_MISSING', `Object ${key} not found`, { key });
  const metaSubject = (key: string) => `$O.${bucket}.M.${b64urlPadded(Buffer.from(key))}`;
  const chunkSubject = (id: string) => `$O.${bucket}.C.${id}`;
  const maxChunk = () => Math.min(CHUNK, nc.info?.max_payload ?? CHUNK);

  /**
   * The meta record by a direct get (no stream-leader API call), or null. On a cluster a direct
   * get may be answered by a replica that has not caught up: "not there" is asked of the leader
   * again (nats.js's own lookup) before it counts.
   */
  async function meta(key: string): Promise<ObjectMeta | null> {
    const m = await jsm.direct.getMessage(stream, { last_by_subj: metaSubject(key) });
    const info = m ? m.json<ObjectMeta>() : ((await os.info(key)) as unknown as ObjectMeta | null);
    return !info || info.deleted ? null : info;
  }

  return {
    kind: 'nats',
    async putFile(key, path) {
      const web = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
      await os.put({ name: key }, web);
    },
    /**
     * A small object (one chunk) written as nats.js would write it, in two publishes: the chunk,
     * then its meta record on the condition that the name is new. nats.js first reads the meta
     * record to find an earlier version's chunks; a fresh key (every page and result the first
     * time) has none, and a key that exists fails the condition and goes through nats.js's put,
     * which replaces it and drops the old chunks.
     */
    async put(key, data) {
      const size = maxChunk();
      if (data.length === 0 || data.length > size) return void (await os.putBlob({ name: key }, data));
      const id = nuid.next();
      await js.publish(chunkSubject(id), data);
      const info = {
        bucket,
        nuid: id,
        size: data.length,
        chunks: 1,
        name: key,
        description: '',
        options: { max_chunk_size: size },
        mtime: new Date().toISOString(),
        digest: digestOf(data),
        deleted: false,
      };
      const h = headers();
      h.set('Nats-Rollup', 'sub');
      h.set('Nats-Expected-Last-Subject-Sequence', '0');
      try {
        await js.publish(metaSubject(key), JSON.stringify(info), { headers: h });
      } catch (err) {
        await jsm.streams.purge(stream, { filter: chunkSubject(id) }).catch(() => {});
        if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) throw err;
        await os.putBlob({ name: key }, data);
      }
    },
    /**
     * Reads a small object's chunks with direct gets: nats.js creates a consumer per read (0.7–4.5 ms
     * of server CPU, and it lingers, PLATFORM.md); a larger object still streams through one.
     */
    async get(key) {
      const info = await meta(key);
      if (!info) throw missing(key);
      if (info.options?.link || info.chunks > DIRECT_READ_MAX_CHUNKS) {
        const data = await os.getBlob(key);
        if (!data) throw missing(key);
        return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      }
      const parts: Uint8Array[] = [];
      let seq = 1;
      for (let i = 0; i < info.chunks; i++) {
        const m = await jsm.direct.getMessage(stream, { seq, next_by_subj: chunkSubject(info.nuid) });
        if (!m) {
          // A replica behind the one that gave the meta record, or the object went meanwhile: nats.js reads from the leader.
          const data = await os.getBlob(key);
          if (!data) throw missing(key);
          return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        }
        parts.push(m.data);
        seq = m.seq + 1;
      }
      const data = Buffer.concat(parts);
      if (data.length !== info.size || digestOf(data) !== info.digest)
        throw new FolioError('FOLIO_UNAVAILABLE', `Object ${key} read back corrupt (size or digest differs)`, { key });
      return data;
    },
    async stream(key) {
      const r = await os.get(key);
      if (!r) throw missing(key);
      return Readable.fromWeb(r.data as never);
    },
    async exists(key) {
      return (await meta(key)) !== null;
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
