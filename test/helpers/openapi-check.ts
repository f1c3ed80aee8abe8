/**
 * Checks real HTTP answers against the served OpenAPI document: the status must be documented for
 * the operation, the content type among the response's contents, the documented headers present
 * (when required) and valid, and the body valid against the schema of its content type, with ajv
 * in strict mode and formats on. Binary bodies are checked by their magic bytes, event streams
 * event by event against the media type's `x-event-data` schema.
 */
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type Json = any;
// ajv-formats is CommonJS: its default export is the plugin, or holds it under `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

const COMPONENTS = 'folio:openapi-components';
/** Magic bytes of the binary media types Folio serves. */
const MAGIC: Record<string, number[]> = {
  'image/png': [0x89, 0x50, 0x4e, 0x47],
  'image/jpeg': [0xff, 0xd8, 0xff],
  'application/pdf': [0x25, 0x50, 0x44, 0x46],
  'application/vnd.apache.parquet': [0x50, 0x41, 0x52, 0x31],
};
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');

/** `#/components/schemas/X` → the components document registered with ajv. */
function rebase(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', `${COMPONENTS}#/$defs/`) : rebase(v),
    ]),
  );
}

export interface Seen {
  operationId: string;
  status: number;
  type: string;
}

export function openApiChecker(doc: Json) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // OpenAPI's own format for byte strings (uploads, images, PDFs): any bytes.
  ajv.addFormat('binary', true);
  ajv.addSchema({ $id: COMPONENTS, $defs: rebase(doc.components.schemas) });
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: Json) => {
    let v = compiled.get(key);
    if (!v) compiled.set(key, (v = ajv.compile(rebase(schema))));
    return v;
  };
  const seen: Seen[] = [];

  function validate(where: string, key: string, schema: Json, value: unknown) {
    const v = compile(key, schema);
    assert.ok(v(value), `${where}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 600)}`);
  }

  /** The documented response for this answer: fails when its status or content type is not documented. */
  function responseFor(res: Response, path: string, method: string) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
    const where = `${method.toUpperCase()} ${path} ${res.status}`;
    const documented = op.responses[String(res.status)];
    assert.ok(documented, `${method.toUpperCase()} ${path} answered ${res.status}, which is not documented (documented: ${Object.keys(op.responses)})`);
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    for (const [name, h] of Object.entries<Json>(documented.headers ?? {})) {
      const value = res.headers.get(name);
      if (value === null) {
        assert.ok(!h.required, `${where}: the required header ${name} is missing`);
        continue;
      }
      const typed = h.schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      validate(`${where} header ${name}`, `${path} ${method} ${res.status} h:${name}`, h.schema ?? {}, typed);
    }
    if (!documented.content) {
      assert.ok(!type || res.status === 204, `${where}: answered ${type}, documented without content`);
      seen.push({ operationId: op.operationId, status: res.status, type });
      return { where, media: null, type };
    }
    const media = documented.content[type];
    assert.ok(media, `${where}: answered ${type || 'no content type'}, documented: ${Object.keys(documented.content)}`);
    seen.push({ operationId: op.operationId, status: res.status, type });
    return { where, media, type, key: `${path} ${method} ${res.status} ${type}` };
  }

  /** Checks one whole answer (its body is read); returns the body as bytes. */
  async function check(res: Response, path: string, method = 'get'): Promise<Buffer> {
    const r = responseFor(res, path, method);
    const body = Buffer.from(await res.arrayBuffer());
    if (!r.media) {
      assert.equal(body.length, 0, `${r.where}: documented without content, answered ${body.length} bytes`);
      return body;
    }
    const { where, media, type, key } = r;
    if (isJson(type)) validate(where, key!, media.schema, JSON.parse(body.toString('utf8')));
    else if (type === 'text/event-stream') checkEvents(where, media, body.toString('utf8'));
    else if (media.schema?.format === 'binary') {
      const magic = MAGIC[type];
      assert.ok(magic, `${where}: no magic bytes known for ${type}`);
      assert.deepEqual([...body.subarray(0, magic.length)], magic, `${where}: the body is not ${type}`);
    } else {
      validate(where, key!, media.schema, body.toString('utf8'));
      assert.ok(body.length > 0, `${where}: an empty ${type} body`);
    }
    return body;
  }

  /** Each `data:` of an event stream against the media type's `x-event-data` schema. */
  function checkEvents(where: string, media: Json, text: string) {
    assert.ok(media['x-event-data'], `${where}: the event stream documents its events' data`);
    const frames = text.split('\n\n').filter((f) => /^data: /m.test(f));
    for (const f of frames) {
      const data = f
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      validate(`${where} event`, `${where} x-event-data`, media['x-event-data'], JSON.parse(data));
    }
    return frames.length;
  }

  /** Checks an answer's status, headers and content type only (a stream left open); the caller reads the body. */
  function checkHead(res: Response, path: string, method = 'get') {
    return responseFor(res, path, method);
  }

  /** A schema by component name, compiled (for checking values outside an answer). */
  const component = (name: string) => compile(`component ${name}`, { $ref: `#/components/schemas/${name}` });

  return { check, checkHead, checkEvents, component, seen, ajv };
}
