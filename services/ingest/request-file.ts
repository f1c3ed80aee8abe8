import { settingNames } from '../../shared/config/index.ts';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { FolioError } from '../../shared/operations/index.ts';
import { receiveUpload, type ReceivedFile } from './upload.ts';

/** One document of a request: a file already spooled to disk, or a URL still to fetch. */
export type Input = { kind: 'file'; name: string; file: ReceivedFile } | { kind: 'url'; name: string; url: string };

export interface InputsRequest {
  /** In the order the client sent them. */
  inputs: Input[];
  /** Options: multipart fields, the JSON body's other members, or the query string. */
  fields: Record<string, string>;
}

export interface ReadOptions {
  tmpDir: string;
  maxBytes: number;
  idleTimeoutMs?: number;
  /** Documents (files and URLs together) one request may carry. */
  maxInputs: number;
}

const MAX_FIELD_BYTES = 1024;
const MAX_URL_BYTES = 8192;

const queryOf = (req: FastifyRequest) => Object.fromEntries(Object.entries((req.query ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));

const tooMany = (max: number) =>
  new FolioError(
    'FOLIO_TOO_MANY_FILES',
    max === 1
      ? 'This route takes one document per request (POST /v1/jobs takes several)'
      : `At most ${max} documents per request (${settingNames.maxFilesPerRequest})`,
    { maxFiles: max },
  );

/**
 * Reads every document of a request, in one of three shapes:
 * - multipart: any number of file parts (any field name; `file` by convention) and `url` fields,
 *   with the options as the other fields, before or after the files;
 * - JSON (`application/json`): `{"url": "…"}` or `{"urls": ["…", …]}` with the options as members;
 * - anything else: the raw body is the one document (`curl --data-binary @file.pdf`), options in the query.
 * Files are spooled to temp files as they arrive (bounded memory); on any error every one
 * already received is removed. A file over the size limit refuses the whole request: the rest of
 * it would have to be read to reach the next part, so the connection is closed instead.
 */
export async function readInputs(req: FastifyRequest, opts: ReadOptions): Promise<InputsRequest> {
  const query = queryOf(req);
  if (!req.isMultipart()) {
    const body = req.body as Readable | Record<string, unknown> | undefined;
    if (body && typeof (body as Readable).pipe === 'function') {
      if (query.url !== undefined) throw new FolioError('FOLIO_INVALID_OPTIONS', 'Send either a document in the body or a url, not both', { field: 'url' });
      const file = await receiveUpload(body as Readable, opts);
      const { filename, ...fields } = query;
      return { inputs: [{ kind: 'file', name: filename ?? 'upload', file }], fields };
    }
    if (body && typeof body === 'object' && !Array.isArray(body)) return jsonInputs(body as Record<string, unknown>, query, opts.maxInputs);
    throw new FolioError(
      'FOLIO_UNSUPPORTED_MEDIA_TYPE',
      'Send the document as multipart/form-data (field "file"), as the raw request body, or a JSON body {"url": …}',
    );
  }

  const fields: Record<string, string> = { ...query };
  const inputs: Input[] = [];
  const discardAll = () => Promise.all(inputs.map((i) => (i.kind === 'file' ? i.file.discard() : undefined)));
  try {
    const parts = req.parts({ limits: { fileSize: opts.maxBytes, files: opts.maxInputs, fields: 32 + opts.maxInputs, fieldSize: MAX_URL_BYTES } });
    for await (const part of parts) {
      if (part.type === 'file') {
        const stream = part.file;
        const file = await receiveUpload(stream, { ...opts, truncated: () => stream.truncated });
        inputs.push({ kind: 'file', name: part.filename || 'upload', file });
      } else if (part.fieldname === 'url') {
        if (part.valueTruncated) throw new FolioError('FOLIO_URL_INVALID', `The url is longer than ${MAX_URL_BYTES} bytes`);
        inputs.push({ kind: 'url', name: String(part.value), url: String(part.value) });
      } else {
        if (part.valueTruncated || String(part.value).length > MAX_FIELD_BYTES)
          throw new FolioError('FOLIO_INVALID_OPTIONS', `Field "${part.fieldname}" is longer than ${MAX_FIELD_BYTES} bytes`);
        fields[part.fieldname] = String(part.value);
      }
      if (inputs.length > opts.maxInputs) throw tooMany(opts.maxInputs);
    }
  } catch (err) {
    await discardAll();
    if ((err as { code?: string })?.code === 'FST_FILES_LIMIT') throw tooMany(opts.maxInputs);
    throw err;
  }
  if (inputs.length === 0)
    throw new FolioError(
      'FOLIO_FILE_MISSING',
      'The multipart body has no file part: send the document in a field named "file" (or its address in a field named "url")',
    );
  if (query.url !== undefined) {
    await discardAll();
    throw new FolioError('FOLIO_INVALID_OPTIONS', 'Send the url as a form field, not in the query', { field: 'url' });
  }
  return { inputs, fields };
}

function jsonInputs(body: Record<string, unknown>, query: Record<string, string>, maxInputs: number): InputsRequest {
  const { url, urls, ...rest } = body;
  const list = [...(url === undefined ? [] : [url]), ...(Array.isArray(urls) ? urls : urls === undefined ? [] : [urls])];
  // A JSON body is only ever a list of addresses; anything else is a client that meant to send the document itself.
  if (list.length === 0)
    throw new FolioError(
      'FOLIO_UNSUPPORTED_MEDIA_TYPE',
      'A JSON body must name the document by URL ({"url": "https://…"} or {"urls": […]}); send the document itself as multipart/form-data (field "file") or as the raw request body',
    );
  if (urls !== undefined && !Array.isArray(urls))
    throw new FolioError('FOLIO_INVALID_OPTIONS', 'Invalid options: urls: must be an array of URLs', {
      issues: [{ field: 'urls', message: 'must be an array of URLs' }],
    });
  if (list.length > maxInputs) throw tooMany(maxInputs);
  const inputs: Input[] = list.map((u) => {
    if (typeof u !== 'string' || u.length > MAX_URL_BYTES) throw new FolioError('FOLIO_URL_INVALID', 'Each url must be a string of at most 8192 characters');
    return { kind: 'url', name: u, url: u };
  });
  const fields: Record<string, string> = { ...query };
  for (const [k, v] of Object.entries(rest)) {
    // Options are scalars; a nested value is refused by the options schema as an unknown shape.
    fields[k] = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  }
  return { inputs, fields };
}

/** The one document of a request (sync routes): a file, or a URL the caller fetches. */
export async function readUpload(req: FastifyRequest, opts: Omit<ReadOptions, 'maxInputs'>): Promise<InputsRequest & { input: Input }> {
  const read = await readInputs(req, { ...opts, maxInputs: 1 });
  return { ...read, input: read.inputs[0] };
}
