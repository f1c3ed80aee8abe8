import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LAYOUT_SCHEMA_PATH, LAYOUT_SCHEMA_VERSION, layoutJsonSchema } from '../services/ingest/formats/layout-schema.ts';

test('the published layout schema (docs/schemas) is the one generated from the zod schema', () => {
  const file = path.join(import.meta.dirname, '..', 'docs', 'schemas', `document-v${LAYOUT_SCHEMA_VERSION}.schema.json`);
  const committed = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(committed, layoutJsonSchema(), 'run: node --import tsx tools/gen-layout-schema.ts');
  assert.equal(LAYOUT_SCHEMA_PATH, '/v1/schemas/document-v1.json');
});

test('every block has type, box, text, reading order and confidence in the contract', () => {
  const s = layoutJsonSchema() as any;
  const block = s.properties.pages.items.properties.blocks.items;
  assert.deepEqual(Object.keys(block.properties).sort(), ['bbox', 'confidence', 'html', 'lines', 'order', 'text', 'type']);
  assert.deepEqual(block.required.sort(), ['bbox', 'text', 'type']);
  // Issue 18: the lines a block was read from (CPU engine, PDF text layers), each with its box.
  const line = block.properties.lines.items;
  assert.deepEqual(Object.keys(line.properties).sort(), ['bbox', 'confidence', 'text']);
  assert.deepEqual(line.required.sort(), ['bbox', 'text']);
  assert.equal(block.properties.bbox.prefixItems.length, 4);
  assert.equal(s.properties.v.const, 1);
});
