import type { Readable } from 'node:stream';

/**
 * Where payloads live (sources, page images, results). Messages carry only these keys.
 * Two implementations: S3 (MinIO or any S3 server, the production path) and the JetStream
 * object store (embedded default, so one machine needs only nats-server).
 */
export interface BlobStore {
  readonly kind: 's3' | 'nats';
  /** Stream a file from disk; its size is known, so S3 needs no multipart upload. */
  putFile(key: string, path: string, size: number, contentType: string): Promise<void>;
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** Throws FolioError FOLIO_BLOB_MISSING when the key does not exist. */
  get(key: string): Promise<Buffer>;
  /** Throws FolioError FOLIO_BLOB_MISSING when the key does not exist. */
  stream(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  /** Deletes every object whose key starts with one of the prefixes. */
  deletePrefixes(prefixes: string[]): Promise<void>;
  /** Every object under the prefix with its last change: a whole-store walk, for the periodic orphan sweep only. */
  list(prefix: string): Promise<Array<{ key: string; modified: Date }>>;
  /** Resolves when the store answers; used by /readyz. */
  ping(): Promise<void>;
}
