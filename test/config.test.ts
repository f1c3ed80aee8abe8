import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, settingNames } from '../shared/config/index.ts';

test('without a vLLM backend the embedded CPU engine is the default', () => {
  assert.equal(loadConfig({}).ocr.engine, 'cpu');
});

test('configuring vLLM base URLs makes vLLM the default engine', () => {
  const c = loadConfig({ VLLM_BASE_URLS: 'http://gpu1:8000/v1, http://gpu2:8000/v1' });
  assert.equal(c.ocr.engine, 'vllm');
  assert.deepEqual(c.ocr.vllm.baseUrls, ['http://gpu1:8000/v1', 'http://gpu2:8000/v1']);
});

test('API keys map to tenants ("tenant=key"; parsing is specified in api-keys.test.ts)', () => {
  const c = loadConfig({ FOLIO_API_KEYS: 'acme=acme-key-0123456789abcdef,globex=globex-key-0123456789abcdef' });
  assert.equal(c.ingest.apiKeys.find('acme-key-0123456789abcdef')?.tenant, 'acme');
  assert.equal(c.ingest.apiKeys.find('globex-key-0123456789abcdef')?.tenant, 'globex');
});

test('a mistyped FOLIO_ setting stops start-up instead of being ignored', () => {
  assert.throws(
    () => loadConfig({ FOLIO_MAX_PAGE: '10' }),
    (e: Error) => e instanceof ConfigError && /FOLIO_MAX_PAGE/.test(e.message),
  );
});

test('an invalid value stops start-up and names the setting', () => {
  assert.throws(
    () => loadConfig({ FOLIO_MAX_UPLOAD_BYTES: 'lots' }),
    (e: Error) => e instanceof ConfigError && /FOLIO_MAX_UPLOAD_BYTES/.test(e.message),
  );
  assert.throws(() => loadConfig({ S3_ENDPOINT: 'not a url' }), /S3_ENDPOINT/);
});

test('the config object is frozen', () => {
  const c = loadConfig({});
  assert.throws(() => {
    (c.limits as { maxPages: number }).maxPages = 1;
  });
});

test('the configuration reference in docs/configuration.md is generated from the schema and up to date', async () => {
  const { pageWithReference } = await import('../tools/config-doc.ts');
  const page = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  const mask = (s: string) => s.replace(/^\| `(FOLIO_CPU_WORKERS|FOLIO_TMP_DIR)` .*$/gm, '');
  assert.equal(mask(pageWithReference(page)), mask(page), 'run: node --import tsx tools/config-doc.ts');
  for (const name of Object.values(settingNames)) assert.match(page, new RegExp(`\\| \`${name}\` \\|`), `${name} is documented`);
  assert.match(page, /\| `FOLIO_WEBHOOK_SECRET` \| `ingest\.webhooks\.secret` \|/);
});
