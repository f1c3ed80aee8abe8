/**
 * JSON payloads between the stages: read back from the blob store against their schema, and
 * written only when too big to travel in their message (INLINE_MAX_BYTES encoded).
 */
import type { z } from 'zod';
import type { BlobStore } from './blob-store.ts';
import { INLINE_MAX_BYTES } from '../bus/messages.ts';

/** The JSON object stored under `key`, checked against `schema`. */
export async function getJson<S extends z.ZodType>(blobs: BlobStore, key: string, schema: S): Promise<z.infer<S>> {
  return schema.parse(JSON.parse((await blobs.get(key)).toString('utf8')));
}

/**
 * Stores `value` under `key` when its JSON is over INLINE_MAX_BYTES and returns the key; returns
 * undefined (nothing stored) when it is small enough for the caller to carry in its message.
 */
export async function storeJsonUnlessSmall(blobs: BlobStore, key: string, value: unknown): Promise<string | undefined> {
  const body = Buffer.from(JSON.stringify(value));
  if (body.length <= INLINE_MAX_BYTES) return undefined;
  await blobs.put(key, body, 'application/json');
  return key;
}
