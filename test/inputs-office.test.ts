/**
 * Office documents (issue 10): docx, xlsx, pptx, odt, ods, odp are recognised from their bytes
 * (a ZIP with [Content_Types].xml and Word/Excel/PowerPoint's main part, or OpenDocument's stored
 * `mimetype`), converted to PDF with LibreOffice when it is installed, and refused with a 415
 * naming the missing converter when it is not. The conversion tests need `soffice` (Debian's
 * libreoffice-*-nogui packages, in the container image) and are skipped with a message without it (a failure under CI=true).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { outsideTool } from './helpers/outside-tool.ts';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertToPdf, detectOffice, findConverter, type OfficeFormat } from '../services/ingest/office.ts';
import { FolioError } from '../shared/operations/index.ts';
import { openPdf } from '../shared/render/pdfjs.ts';
import { docx, odf, odt, pptxSkeleton, xlsx, zip } from './helpers/office-files.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'folio-office-test-'));
const binDir = path.join(work, 'bin');
mkdirSync(binDir);
/** The stack's FOLIO_SOFFICE_BIN: absent at first, linked to the real soffice for the conversion tests. */
const sofficeLink = path.join(binDir, 'soffice');
const realSoffice = await findConverter('soffice');
const NO_SOFFICE = outsideTool(
  'soffice (LibreOffice)',
  realSoffice ? ['true'] : ['false'],
  'Debian packages libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui',
).skip;
const SENTENCE = 'Folio converts Office documents before reading them.';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ env: { FOLIO_SOFFICE_BIN: sofficeLink } });
});
after(async () => {
  await stack?.close();
});

function file(name: string, bytes: Buffer) {
  const p = path.join(work, name);
  writeFileSync(p, bytes);
  return { path: p, head: bytes.subarray(0, 2048) };
}

test('Office documents are recognised from their bytes; other ZIP files are not', async () => {
  const cases: Array<[string, Buffer, OfficeFormat | null]> = [
    ['a.bin', docx(['x']), 'docx'],
    ['b.bin', xlsx([['x']]), 'xlsx'],
    ['c.bin', pptxSkeleton(), 'pptx'],
    ['d.bin', odt(['x']), 'odt'],
    ['e.bin', odf('ods', '<office:body><office:spreadsheet/></office:body>'), 'ods'],
    ['f.bin', odf('odp', '<office:body><office:presentation/></office:body>'), 'odp'],
    ['g.zip', zip([{ name: 'readme.txt', data: 'hello' }]), null],
    // An EPUB also starts with a stored mimetype entry: not an Office type.
    ['h.epub', zip([{ name: 'mimetype', data: 'application/epub+zip', store: true }]), null],
    // Word's part without [Content_Types].xml is not OOXML.
    ['i.zip', zip([{ name: 'word/document.xml', data: '<x/>' }]), null],
    ['j.txt', Buffer.from('PK but not a zip at all'), null],
  ];
  for (const [name, bytes, want] of cases) assert.equal(await detectOffice(file(name, bytes)), want, name);
});

test('without LibreOffice an Office document is a 415 FOLIO_CONVERTER_MISSING naming the converter; a plain ZIP stays FOLIO_UNSUPPORTED_MEDIA_TYPE', async () => {
  assert.equal(await findConverter('soffice', '/nonexistent-dir'), null);
  const res = await upload(stack.url, '/v1/jobs', docx([SENTENCE]), { filename: 'report.docx' });
  const body = await res.json();
  assert.equal(res.status, 415, JSON.stringify(body));
  assert.equal(body.error.code, 'FOLIO_CONVERTER_MISSING');
  assert.match(body.error.message, /LibreOffice \(soffice\)/);
  assert.deepEqual(body.error.details, { converter: 'soffice', format: 'docx' });

  const plain = await upload(stack.url, '/v1/jobs', zip([{ name: 'a.txt', data: 'x' }]), { filename: 'a.zip' });
  assert.equal(plain.status, 415);
  assert.equal((await plain.json()).error.code, 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
});

test('a conversion past its deadline is killed with its whole process group (FOLIO_CONVERSION_FAILED, reason timeout)', async () => {
  // A stand-in converter that hangs and leaves a child behind, as soffice's wrapper does.
  const fake = path.join(work, 'hanging-soffice');
  const pidFile = path.join(work, 'child.pid');
  writeFileSync(fake, `#!/bin/sh\nsleep 300 &\necho $! > ${pidFile}\nwait\n`);
  chmodSync(fake, 0o755);
  const t0 = Date.now();
  const err = await convertToPdf(file('hang.docx', docx(['x'])), 'docx', { bin: fake, timeoutMs: 1000, tmpDir: work, maxBytes: 1 << 20, concurrency: 1 }).then(
    () => assert.fail('expected a timeout'),
    (e) => e as FolioError,
  );
  assert.equal(err.code, 'FOLIO_CONVERSION_FAILED');
  assert.equal(err.details?.reason, 'timeout');
  assert.ok(Date.now() - t0 < 20_000);
  const child = Number(readFileSync(pidFile, 'utf8'));
  // Gone, or a zombie waiting for a reaper (a container's PID 1 may not reap): either way not running.
  const state = (() => {
    try {
      return readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      return '';
    }
  })();
  assert.ok(state === '' || state.startsWith('Z'), `the converter’s child was killed too (state "${state}")`);
  assert.deepEqual(
    readdirSync(work).filter((n) => n.startsWith('folio-office-')),
    [],
    'its temp dir is removed',
  );
});

test('LibreOffice converts docx, xlsx and odt to PDFs holding their text', { skip: NO_SOFFICE }, async () => {
  for (const [format, bytes, text] of [
    ['docx', docx([SENTENCE]), SENTENCE],
    [
      'xlsx',
      xlsx([
        ['Fruit', 'Quantity'],
        ['Apples', '42'],
      ]),
      'Apples',
    ],
    ['odt', odt(['An OpenDocument text, converted.']), 'OpenDocument'],
  ] as const) {
    const pdf = await convertToPdf(file(`doc.${format}`, bytes), format, {
      bin: realSoffice!,
      timeoutMs: 120_000,
      tmpDir: work,
      maxBytes: 50 << 20,
      concurrency: 2,
    });
    try {
      const doc = await openPdf({ path: pdf.path });
      const page = await doc.getPage(1);
      const content = (await page.getTextContent()).items.map((i) => ('str' in i ? i.str : '')).join(' ');
      await doc.destroy();
      assert.ok(content.includes(text), `${format}: "${content}"`);
    } finally {
      await pdf.discard();
    }
  }
});

test(
  'an uploaded docx becomes a job on its PDF: the status says what was sent; the same file again is answered from the cache',
  { skip: NO_SOFFICE },
  async () => {
    symlinkSync(realSoffice!, sofficeLink);
    const bytes = docx([SENTENCE, 'A second paragraph.']);
    const res = await upload(stack.url, '/v1/jobs', bytes, { filename: 'report.docx' });
    const accepted = await res.json();
    assert.equal(res.status, 202, JSON.stringify(accepted));
    const end = await waitForTerminal(stack.url, accepted.id, 120_000);
    assert.equal(end.status, 'completed', JSON.stringify(end));
    assert.equal(end.pages.total, 1);
    assert.equal(end.source.name, 'report.docx');
    assert.equal(end.source.mediaType, 'application/pdf');
    assert.deepEqual(end.source.convertedFrom, {
      format: 'docx',
      mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      bytes: bytes.length,
    });
    const image = await fetch(`${stack.url}/v1/jobs/${accepted.id}/pages/1/image`);
    assert.equal(image.status, 200);

    const again = await (await upload(stack.url, '/v1/jobs', bytes, { filename: 'same.docx' })).json();
    assert.equal(again.cached, true);
    assert.equal(again.id, accepted.id);

    const damaged = await upload(
      stack.url,
      '/v1/jobs',
      zip([
        { name: '[Content_Types].xml', data: 'garbage' },
        { name: 'word/document.xml', data: '<<<not xml' },
      ]),
      { filename: 'broken.docx' },
    );
    const body = await damaged.json();
    assert.equal(damaged.status, 422, JSON.stringify(body));
    assert.equal(body.error.code, 'FOLIO_CONVERSION_FAILED');
    assert.deepEqual(
      readdirSync(stack.env.FOLIO_TMP_DIR).filter((n) => n.startsWith('folio-')),
      [],
      'no temp file or dir left',
    );
  },
);
