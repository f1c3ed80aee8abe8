/**
 * The layout JSON (document.json) as a published contract: a JSON Schema generated from the zod
 * schema the services validate with (shared/bus/messages.ts DocumentResult), so the two cannot drift.
 * Versioned by document.json's own `v`: a breaking change makes v2 at a new URL; v1 stays served.
 * The committed copy in docs/schemas/ is checked against this in test/formats-schema.test.ts.
 */
import { z } from 'zod';
import { DocumentResult } from '../../../shared/bus/index.ts';

export const LAYOUT_SCHEMA_VERSION = 1;
/** Where ingest serves it. */
export const LAYOUT_SCHEMA_PATH = `/v1/schemas/document-v${LAYOUT_SCHEMA_VERSION}.json`;

export function layoutJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(DocumentResult, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `folio:schemas/document-v${LAYOUT_SCHEMA_VERSION}.json`,
    title: `Folio document.json, version ${LAYOUT_SCHEMA_VERSION}`,
    description:
      "GET /v1/jobs/{id}/result?format=json. Pages in order; each page's blocks in reading order (`order`), each with its type, " +
      "box [x1, y1, x2, y2] in page-image pixels (the page is width × height), plain text, and a confidence (the CPU recogniser's, or a vision model's token probabilities); each page has its quality signals (`quality`) and, when it took more than one try, its `attempts`. " +
      'Tables from vision models keep their HTML in `html`. Blocks of the `plain` model profile have the whole page as their box.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
