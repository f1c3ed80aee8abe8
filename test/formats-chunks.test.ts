import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { chunkDocument, estimateTokens } from '../services/ingest/formats/chunks.ts';

function doc(pages: Array<{ blocks: Block[]; markdown?: string }>): DocumentResult {
  return {
    v: 1,
    jobId: 'j',
    source: { name: 'x', mediaType: 'application/pdf', bytes: 1, sha256: '0' },
    pages: pages.map((p, i) => ({
      page: i + 1,
      status: 'done',
      width: 1000,
      height: 1400,
      markdown: p.markdown ?? '',
      blocks: p.blocks.map((b, k) => ({ ...b, order: k })),
    })),
  };
}
const b = (type: string, text: string, y: number): Block => ({ type, text, bbox: [50, y, 950, y + 40] });
const sentence = (i: number) => `Sentence number ${i} talks about the measured values of station four in some detail.`;

test('token estimate: words about one per 4 characters, CJK one per character', () => {
  assert.equal(estimateTokens('hello world'), 4);
  assert.equal(estimateTokens('热力学基础'), 5);
  assert.equal(estimateTokens('a, b.'), 4);
});

test('chunks follow headings: never across one, each with its heading path, pages and boxes', () => {
  const chunks = chunkDocument(
    doc([
      {
        blocks: [
          b('title', 'Annual Report', 40),
          b('sub_title', 'Revenue', 100),
          b('text', 'Revenue grew.', 150),
          b('sub_title', 'Costs', 200),
          b('text', 'Costs fell.', 250),
        ],
      },
      { blocks: [b('text', 'Costs, continued on page 2.', 40), b('image', '![](images/2_0.jpg)', 100), b('image_caption', 'Figure 1: costs', 300)] },
    ]),
  );
  assert.deepEqual(
    chunks.map((c) => [c.text, c.headings, c.pages]),
    [
      ['Revenue grew.', ['Annual Report', 'Revenue'], [1]],
      ['Costs fell.\n\nCosts, continued on page 2.\n\nFigure 1: costs', ['Annual Report', 'Costs'], [1, 2]],
    ],
  );
  assert.deepEqual(chunks[1].boxes, [
    { page: 1, bbox: [50, 250, 950, 290] },
    { page: 2, bbox: [50, 40, 950, 80] },
    { page: 2, bbox: [50, 300, 950, 340] },
  ]);
  assert.deepEqual(
    chunks.map((c) => c.index),
    [0, 1],
  );
});

test('under the token limit, with overlap between consecutive chunks of a section', () => {
  const blocks = [b('sub_title', 'Data', 10), ...Array.from({ length: 30 }, (_, i) => b('text', sentence(i), 60 + i * 40))];
  const chunks = chunkDocument(doc([{ blocks }]), { maxTokens: 100, overlap: 30 });
  assert.ok(chunks.length > 3);
  for (const c of chunks) {
    assert.ok(c.tokens <= 100, `${c.tokens} tokens`);
    assert.deepEqual(c.headings, ['Data']);
  }
  for (let i = 1; i < chunks.length; i++) {
    const prevLast = chunks[i - 1].text.split('\n\n').at(-1)!;
    assert.ok(chunks[i].text.startsWith(prevLast), `chunk ${i} starts with the end of chunk ${i - 1}`);
  }
  // Every sentence is in some chunk.
  for (let i = 0; i < 30; i++)
    assert.ok(
      chunks.some((c) => c.text.includes(sentence(i))),
      `sentence ${i}`,
    );
});

test('a block longer than the limit is split at sentences, keeping its box; no overlap means none', () => {
  const long = b('text', Array.from({ length: 12 }, (_, i) => sentence(i)).join(' '), 100);
  const chunks = chunkDocument(doc([{ blocks: [long] }]), { maxTokens: 60, overlap: 0 });
  assert.ok(chunks.length >= 3);
  for (const c of chunks) {
    assert.ok(c.tokens <= 60);
    assert.deepEqual(c.boxes, [{ page: 1, bbox: long.bbox }]);
  }
  assert.equal(chunks.map((c) => c.text).join(' '), long.text);
});

test('pages without blocks chunk their Markdown, boxed as the whole page', () => {
  const chunks = chunkDocument(doc([{ blocks: [], markdown: '# 第一章\n\n第一段文字。\n\n![](images/1_0.jpg)\n\n第二段文字。' }]));
  assert.deepEqual(chunks, [
    { index: 0, text: '第一段文字。\n\n第二段文字。', headings: ['第一章'], pages: [1], boxes: [{ page: 1, bbox: [0, 0, 1000, 1400] }], tokens: 12 },
  ]);
});
