import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { outsideTool } from './helpers/outside-tool.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { makePdf } from './helpers/make-pdf.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NO_CHROMIUM = outsideTool('Chromium', CHROMIUM, "Debian package 'chromium'").skip;
const KEY = 'viewer-key-AAAAAAAAAAAAAAAAAAAAAA';
let stack: TestStack;
let browser: Browser;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}` } });
  if (NO_CHROMIUM) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test(
  'the viewer at / uploads several files, shows progress, each page image with its layout boxes beside the rendered Markdown, tabs, downloads and failures',
  { skip: NO_CHROMIUM },
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-viewer-'));
    const pdf = path.join(dir, 'two-pages.pdf');
    writeFileSync(pdf, makePdf(['Quarterly report', 'Second page of the report']));
    const junk = path.join(dir, 'notes.txt');
    writeFileSync(junk, 'not a document');

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(stack.url);
    await page.fill('#key', KEY);
    await page.dispatchEvent('#key', 'change');
    await page.setInputFiles('#file', [new URL('./fixtures/english.png', import.meta.url).pathname, pdf, junk]);

    // The unsupported file fails with its message; the others end completed, each with a view.
    await page.waitForSelector('.job .err', { timeout: 30_000 });
    assert.match((await page.locator('.job .err').first().textContent()) ?? '', /FOLIO_UNSUPPORTED_MEDIA_TYPE/);
    await page.waitForFunction(() => document.querySelectorAll('.view .page svg rect').length > 0 && document.querySelectorAll('.view').length === 2, null, {
      timeout: 60_000,
    });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.view .page img')).every((i) => (i as HTMLImageElement).naturalWidth > 0), null, {
      timeout: 30_000,
    });
    const texts = await page.locator('.job header span').allTextContents();
    assert.ok(
      texts.some((t) => /completed — 2\/2 page/.test(t)),
      texts.join(' | '),
    );
    assert.ok((await page.locator('.markdown p, .markdown h1, .markdown h2, .markdown table').count()) > 0, 'the Markdown is rendered, not shown raw');
    assert.equal(await page.locator('.downloads a[download$=".md"]').count(), 2);
    assert.equal(await page.locator('.downloads a[download$=".json"]').count(), 2);

    // Pages and tabs.
    const pdfCard = page.locator('.job', { hasText: 'two-pages.pdf' });
    await pdfCard.locator('.pager button', { hasText: '▶' }).click();
    await pdfCard.locator('.pager', { hasText: 'page 2 (2 of 2)' }).waitFor();
    await pdfCard.locator('.tabs button', { hasText: 'JSON' }).click();
    assert.match((await pdfCard.locator('.panel pre').textContent()) ?? '', /"page": 2/);
    await pdfCard.locator('.tabs button', { hasText: 'Markdown' }).click();

    await page.screenshot({ path: process.env.FOLIO_VIEWER_SCREENSHOT ?? path.join(dir, 'viewer.png'), fullPage: false });
    assert.deepEqual(errors, []);
  },
);

test('a hostile Markdown result runs no script in the viewer: what the page renders is sanitised', { skip: NO_CHROMIUM }, async () => {
  // The result is what an OCR model wrote, so it is untrusted: here a model "read" markup that
  // would run script if the viewer put it into the page as it came. The job's JSON result is
  // replaced on its way to the browser; the test goes through the page's own rendering.
  const hostile =
    '# Hi\n\n<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\n\n<svg onload="window.__pwned=3"></svg><iframe srcdoc="<script>parent.__pwned=4</script>"></iframe>\n\n[click](javascript:window.__pwned=5)';
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
  await page.route(/\/v1\/jobs\/[^/]+\/result\?format=json/, async (route) => {
    const doc = await (await route.fetch()).json();
    for (const p of doc.pages) {
      p.markdown = hostile;
      p.blocks.push({ type: 'table', bbox: [0, 0, 10, 10], text: '| a |', html: '<table><tr><td><img src=y onerror="window.__pwned=6">a</td></tr></table>' });
    }
    await route.fulfill({ json: doc });
  });
  await page.goto(stack.url);
  await page.fill('#key', KEY);
  await page.dispatchEvent('#key', 'change');
  await page.setInputFiles('#file', [new URL('./fixtures/english.png', import.meta.url).pathname]);
  await page.waitForSelector('.view .markdown h1', { timeout: 60_000 });
  const card = page.locator('.job').first();
  await card.locator('.tabs button', { hasText: 'Tables' }).click();
  await card.locator('.panel table').first().waitFor();
  await card.locator('.tabs button', { hasText: 'Markdown' }).click();
  await card
    .locator('.markdown a', { hasText: 'click' })
    .click()
    .catch(() => {});
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no hostile script ran');
  assert.deepEqual(dialogs, []);
  const shown = await card.locator('.markdown').innerHTML();
  assert.match(shown, /<h1>Hi<\/h1>/, 'the harmless Markdown is still rendered');
  assert.doesNotMatch(shown, /onerror|onload|<script|<iframe|javascript:/);
});
