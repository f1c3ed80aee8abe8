/** Writes docs/schemas/document-v<N>.schema.json from the zod schema: `node --import tsx tools/gen-layout-schema.ts`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LAYOUT_SCHEMA_VERSION, layoutJsonSchema } from '../services/ingest/formats/layout-schema.ts';

const file = path.join(import.meta.dirname, '..', 'docs', 'schemas', `document-v${LAYOUT_SCHEMA_VERSION}.schema.json`);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(layoutJsonSchema(), null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), file)}`);
