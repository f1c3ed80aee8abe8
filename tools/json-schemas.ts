/**
 * Writes the JSON Schemas of the NATS payloads clients read, from the zod schemas
 * (shared/document/api-schemas.ts): `node --import tsx tools/json-schemas.ts` (`--check` fails when a file
 * is out of date; the test runs that). Versioned by the payloads' own `v` field: a breaking
 * change is a new `v` and a new file, never an edit of a published one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { JobEventPayload, JobRecord, ProgressEvent } from '../shared/document/index.ts';

const DIR = new URL('../shared/json-schemas/', import.meta.url);

export const PUBLISHED = [
  {
    file: 'job-event.v1.schema.json',
    schema: JobEventPayload,
    title: 'Folio job event v1',
    description: 'folio.events.<tenant>.<job>.<completed|partial|failed|cancelled>: once per job end (a cached answer publishes one again)',
  },
  {
    file: 'progress-event.v1.schema.json',
    schema: ProgressEvent,
    title: 'Folio progress event v1',
    description: 'folio.events.<tenant>.<job>.progress: at most one a second per job, only while pages remain',
  },
  {
    file: 'job-status.v1.schema.json',
    schema: JobRecord,
    title: 'Folio job status v1 (KV folio_jobs[<job>])',
    description: 'The job record in the folio_jobs KV bucket, key = job id',
  },
];

/** Readers must accept fields added later within v1: no `additionalProperties: false` in published schemas. */
function open(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(open);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (!(k === 'additionalProperties' && v === false)) out[k] = open(v);
  return out;
}

export function render(p: (typeof PUBLISHED)[number]): string {
  const s = z.toJSONSchema(p.schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown> & {
    $defs?: Record<string, Record<string, unknown>>;
    $ref?: string;
  };
  // Registered schemas come out as a $ref into $defs: inline the root for readers.
  const id = s.$ref?.replace('#/$defs/', '');
  const { [id ?? '']: root, ...defs } = s.$defs ?? {};
  const body = open(id ? { ...root, ...(Object.keys(defs).length ? { $defs: defs } : {}) } : s) as Record<string, unknown>;
  delete body.$schema;
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', $id: `https://folio.invalid/schemas/${p.file}`, title: p.title, ...body, description: p.description }, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const p of PUBLISHED) {
    const url = new URL(p.file, DIR);
    const text = render(p);
    if (check) {
      const cur = (() => {
        try {
          return readFileSync(url, 'utf8');
        } catch {
          return '';
        }
      })();
      if (cur !== text) {
        stale++;
        console.error(`${p.file} is out of date: run node --import tsx tools/json-schemas.ts`);
      }
    } else writeFileSync(url, text);
  }
  process.exit(stale ? 1 : 0);
}
