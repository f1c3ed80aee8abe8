import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { FolioError } from '../../shared/errors.ts';
import { receiveUpload, type ReceivedFile } from './upload.ts';

export interface UploadRequest {
  file: ReceivedFile;
  name: string;
  /** Multipart fields, or the query string for a raw-body upload. */
  fields: Record<string, string>;
}

const MAX_FIELD_BYTES = 1024;

/**
 * Reads the one file of a request: a multipart part (any field name; fields may come before or
 * after it), or the raw body of a non-multipart POST (`curl --data-binary @file.pdf`).
 */
export async function readUpload(req: FastifyRequest, opts: { tmpDir: string; maxBytes: number; idleTimeoutMs?: number }): Promise<UploadRequest> {
  const query = Object.fromEntries(Object.entries((req.query ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  if (!req.isMultipart()) {
    const body = req.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', 'Send the document as multipart/form-data (field "file") or as the raw request body');
    }
    const file = await receiveUpload(body, opts);
    return { file, name: (query.filename as string | undefined) ?? 'upload', fields: omit(query, 'filename') };
  }

  const fields: Record<string, string> = { ...query };
  let file: ReceivedFile | undefined;
  let name = 'upload';
  try {
    const parts = req.parts({ limits: { fileSize: opts.maxBytes, files: 1, fields: 32, fieldSize: MAX_FIELD_BYTES } });
    for await (const part of parts) {
      if (part.type === 'file') {
        const stream = part.file;
        file = await receiveUpload(stream, { ...opts, truncated: () => stream.truncated });
        name = part.filename || name;
      } else {
        if (part.valueTruncated) throw new FolioError('FOLIO_INVALID_OPTIONS', `Field "${part.fieldname}" is longer than ${MAX_FIELD_BYTES} bytes`);
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (err) {
    await file?.discard();
    throw err;
  }
  if (!file) throw new FolioError('FOLIO_FILE_MISSING', 'The multipart body has no file part: send the document in a field named "file"');
  return { file, name, fields };
}

function omit(o: Record<string, string>, key: string) {
  const { [key]: _drop, ...rest } = o;
  return rest;
}
