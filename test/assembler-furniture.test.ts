// Page furniture in the assembled document: typed in document.json, left out of document.md
// unless the job keeps it, and recognised by repetition across pages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleDocument } from '../services/assembler/assemble.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';
import { JobOptions, type Block, type BBox, type PageRecord, type PageResult } from '../shared/bus/index.ts';
import { chunkDocument } from '../services/ingest/formats/chunks.ts';
import { renderHtml } from '../services/ingest/formats/html.ts';
import { forReading } from '../shared/document/index.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** A page as the CPU engine and text layers lay it out: one paragraph of Markdown per block. */
function page(n: number, lines: LayoutLine[]): PageResult {
  const { markdown, blocks } = layoutPage(lines);
  return { page: n, width: 1000, height: 1400, engine: 'cpu', markdown, blocks, raw: '', ms: 1 };
}

function assemble(results: PageResult[], options: Partial<JobOptions> = {}) {
  const records: PageRecord[] = results.map((r) => ({ page: r.page, status: 'done', engine: 'cpu' }));
  return assembleDocument({
    jobId: 'j',
    source: { name: 'x.pdf', mediaType: 'application/pdf', bytes: 1, sha256: 'x' },
    options: JobOptions.parse({ separator: 'none', ...options }),
    records,
    results: new Map(results.map((r) => [r.page, r])),
  });
}

const body = (n: number) => [
  line(`Body text of page ${n} that runs on for a while.`, 100, 300, 900),
  line('And a second line of the same paragraph here.', 100, 328, 880),
];

describe('furniture in the assembled document', () => {
  // One page alone shows its running header and number: a volume line, a page number far right.
  const typed = (n: number) => page(n, [line('Journal of Things / Vol. 3', 100, 40, 500, 16), line(String(100 + n), 880, 40, 920, 16), ...body(n)]);

  it('leaves furniture out of document.md by default and keeps it typed in document.json', () => {
    const { markdown, json } = assemble([typed(1), typed(2)]);
    assert.equal(
      markdown,
      `${body(1)
        .map((l) => l.text)
        .join(' ')}\n\n${body(2)
        .map((l) => l.text)
        .join(' ')}\n`,
    );
    assert.deepEqual(
      json.pages[0].blocks.map((b) => b.type),
      ['page_header', 'page_number', 'text'],
    );
    assert.ok(!json.pages[0].markdown.includes('Journal of Things'));
  });

  it('leaves furniture out of the HTML and the chunks as from document.md, and keeps it with furniture: keep', () => {
    const { json } = assemble([typed(1), typed(2)]);
    const text = (drop: 'drop' | 'keep') =>
      renderHtml(forReading(json, drop)) +
      chunkDocument(forReading(json, drop))
        .map((c) => c.text)
        .join(' ');
    assert.doesNotMatch(text('drop'), /Journal of Things|\b101\b/);
    assert.match(text('drop'), /Body text of page 2/);
    assert.match(text('keep'), /Journal of Things[\s\S]*Journal of Things/);
  });

  it('writes furniture where it was printed with furniture: keep', () => {
    const { markdown } = assemble([typed(1)], { furniture: 'keep' });
    assert.ok(markdown.startsWith('Journal of Things / Vol. 3\n\n101\n\nBody text of page 1'), markdown);
  });

  it('types a line repeated at the top of several pages as a running header, though no page alone shows it', () => {
    // Set as body text, no number, no gap worth a band: only the repetition gives it away.
    const results = [1, 2, 3].map((n) =>
      page(n, [
        line('Chapter Two: The Long Road', 100, 60, 500),
        ...body(n).map((l) => ({ ...l, bbox: [l.bbox[0], l.bbox[1] - 200, l.bbox[2], l.bbox[3] - 200] as BBox })),
      ]),
    );
    assert.ok(
      results.every((r) => r.blocks[0].type !== 'page_header'),
      'one page alone does not tell',
    );
    const { markdown, json } = assemble(results);
    assert.deepEqual(
      json.pages.map((p) => p.blocks[0].type),
      ['page_header', 'page_header', 'page_header'],
    );
    assert.ok(!markdown.includes('Chapter Two'), markdown);
  });

  it('leaves a line that appears on one page only, and the Markdown of a vision model, as written', () => {
    const vlm: PageResult = {
      page: 1,
      width: 1000,
      height: 1400,
      engine: 'vllm',
      raw: '',
      ms: 1,
      markdown: '# Report\n\nSome text.\n\nMore text in a second paragraph.\n\nPage 1 of 9',
      blocks: [
        { type: 'title', bbox: [100, 100, 500, 140], text: 'Report' },
        { type: 'text', bbox: [100, 200, 900, 260], text: 'Some text. More text in a second paragraph.' },
        { type: 'footer', bbox: [400, 1350, 600, 1380], text: 'Page 1 of 9' },
      ] satisfies Block[],
    };
    assert.equal(assemble([vlm]).markdown, '# Report\n\nSome text.\n\nMore text in a second paragraph.\n');
    assert.ok(assemble([vlm], { furniture: 'keep' }).markdown.includes('Page 1 of 9'));
  });
});
