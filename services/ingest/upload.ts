import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FolioError } from '../../shared/operations/index.ts';
import { INLINE_MAX_BYTES } from '../../shared/bus/index.ts';

export interface ReceivedFile {
  path: string;
  bytes: number;
  sha256: string;
  /** The first bytes, for magic-byte sniffing. */
  head: Buffer;
  /** All the bytes, when the file is at most INLINE_MAX_BYTES (it then travels in the job message: no read back from disk). */
  data?: Buffer;
  discard(): Promise<void>;
}

const HEAD_BYTES = 2048;

/**
 * Streams an upload to a temp file while hashing and counting: memory stays flat whatever the
 * size, and the byte limit is enforced here because @fastify/multipart only flags truncation.
 */
export async function receiveUpload(
  stream: Readable,
  opts: { tmpDir: string; maxBytes: number; truncated?: () => boolean; idleTimeoutMs?: number },
): Promise<ReceivedFile> {
  const file = path.join(opts.tmpDir, `folio-upload-${randomUUID()}`);
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLen = 0;
  // Kept while the file stays small enough to travel inline; dropped past that.
  let small: Buffer[] | undefined = [];
  let bytes = 0;
  // A client that stops sending mid-body would hold a socket, a temp file and an upload slot
  // forever: past the idle timeout the upload fails (and the connection is closed).
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    if (!opts.idleTimeoutMs) return;
    clearTimeout(idle);
    idle = setTimeout(() => meter.destroy(new FolioError('FOLIO_REQUEST_TIMEOUT', `No upload data for ${opts.idleTimeoutMs} ms`)), opts.idleTimeoutMs);
  };
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      arm();
      bytes += chunk.length;
      if (bytes > opts.maxBytes) return cb(new FolioError('FOLIO_UPLOAD_TOO_LARGE', `The upload exceeds ${opts.maxBytes} bytes`, { maxBytes: opts.maxBytes }));
      if (headLen < HEAD_BYTES) {
        headChunks.push(chunk);
        headLen += chunk.length;
      }
      if (small && bytes <= INLINE_MAX_BYTES) small.push(chunk);
      else small = undefined;
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const discard = () => rm(file, { force: true });
  try {
    arm();
    await pipeline(stream, meter, createWriteStream(file));
  } catch (err) {
    await discard();
    if (err instanceof FolioError) throw err;
    // The cause goes to the log (error handler), not to the client: it may name local paths.
    throw new FolioError('FOLIO_MULTIPART_MALFORMED', 'The upload could not be read (the client stopped sending, or the body is malformed)', undefined, {
      cause: err,
    });
  } finally {
    clearTimeout(idle);
  }
  if (opts.truncated?.()) {
    await discard();
    throw new FolioError('FOLIO_UPLOAD_TOO_LARGE', `The upload exceeds ${opts.maxBytes} bytes`, { maxBytes: opts.maxBytes });
  }
  return {
    path: file,
    bytes,
    sha256: hash.digest('hex'),
    head: Buffer.concat(headChunks).subarray(0, HEAD_BYTES),
    ...(small ? { data: Buffer.concat(small) } : {}),
    discard,
  };
}
