import type { BlobStore } from './blob-store.ts';
import { FolioError } from '../operations/errors.ts';

/**
 * Every blob-store call gets a deadline: an object store that stops answering (a partitioned S3,
 * a JetStream object store without quorum) becomes a retryable FOLIO_UNAVAILABLE instead of a
 * handler that waits forever while its heartbeats keep the message leased.
 */
export function withDeadlines(store: BlobStore, ms: number): BlobStore {
  const timed = <T>(what: string, key: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FolioError('FOLIO_UNAVAILABLE', `The object store did not complete ${what} within ${ms} ms`, { key })), ms);
    });
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
  };
  return {
    kind: store.kind,
    putFile: (key, path, size, type) => timed('an upload', key, store.putFile(key, path, size, type)),
    put: (key, data, type) => timed('a write', key, store.put(key, data, type)),
    get: (key) => timed('a read', key, store.get(key)),
    // The deadline covers opening the stream; its consumer reads it under its own step deadline.
    stream: (key) => timed('opening a read', key, store.stream(key)),
    exists: (key) => timed('a lookup', key, store.exists(key)),
    deletePrefixes: (prefixes) => timed('a delete', prefixes.join(','), store.deletePrefixes(prefixes)),
    list: (prefix) => timed('a listing', prefix, store.list(prefix)),
    ping: () => timed('a ping', '', store.ping()),
  };
}
