import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import type { BlobStore } from './blob-store.ts';
import { FolioError } from '../operations/errors.ts';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
  /** Objects expire this long after they are written (a lifecycle rule, in whole days); the orphan sweep covers servers without lifecycle support. */
  expireAfterS?: number;
}

const isNotFound = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
};

export async function createS3BlobStore(s: S3Settings): Promise<BlobStore> {
  const url = new URL(s.endpoint);
  const useSSL = url.protocol === 'https:';
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    region: s.region,
    pathStyle: true,
  });
  if (!(await client.bucketExists(s.bucket))) {
    await client.makeBucket(s.bucket, s.region).catch(async (err) => {
      // Another replica may have created it meanwhile.
      if (!(await client.bucketExists(s.bucket))) throw err;
    });
  }
  if (s.expireAfterS) {
    const Days = Math.max(1, Math.ceil(s.expireAfterS / 86_400));
    // Some S3 servers (and test servers) do not implement lifecycle rules: the assembler's orphan sweep still removes expired jobs' objects.
    await client
      .setBucketLifecycle(s.bucket, { Rule: [{ ID: 'folio-expire-with-jobs', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days } }] })
      .catch(() => {});
  }
  const missing = (key: string, err: unknown) => new FolioError('FOLIO_BLOB_MISSING', `Object ${key} not found`, { key }, { cause: err });

  const store: BlobStore = {
    kind: 's3',
    async putFile(key, path, size, contentType) {
      await client.putObject(s.bucket, key, createReadStream(path), size, { 'Content-Type': contentType });
    },
    async put(key, data, contentType) {
      await client.putObject(s.bucket, key, data, data.length, { 'Content-Type': contentType });
    },
    async get(key) {
      const stream = await store.stream(key);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
    async stream(key): Promise<Readable> {
      try {
        return await client.getObject(s.bucket, key);
      } catch (err) {
        if (isNotFound(err)) throw missing(key, err);
        throw err;
      }
    },
    async exists(key) {
      try {
        await client.statObject(s.bucket, key);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    async deletePrefixes(prefixes) {
      for (const prefix of prefixes) {
        const names: string[] = [];
        for await (const item of client.listObjectsV2(s.bucket, prefix, true)) {
          if (item.name) names.push(item.name);
        }
        if (names.length > 0) await client.removeObjects(s.bucket, names);
      }
    },
    async list(prefix) {
      const out: Array<{ key: string; modified: Date }> = [];
      for await (const item of client.listObjectsV2(s.bucket, prefix, true)) {
        if (item.name) out.push({ key: item.name, modified: item.lastModified ?? new Date(0) });
      }
      return out;
    },
    async ping() {
      await client.bucketExists(s.bucket);
    },
  };
  return store;
}
