import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../shared/config/index.ts';

test('FOLIO_WEBHOOK_DEFAULTS becomes a map tenant → URL, split on the first "=" (a URL may hold "=")', () => {
  const { defaults } = loadConfig({ FOLIO_WEBHOOK_DEFAULTS: 'acme=https://hooks.acme.test/folio?sig=a=b, globex = https://globex.test/hook' }).ingest.webhooks;
  assert.deepEqual(
    [...defaults],
    [
      ['acme', 'https://hooks.acme.test/folio?sig=a=b'],
      ['globex', 'https://globex.test/hook'],
    ],
  );
  assert.equal(loadConfig({}).ingest.webhooks.defaults.size, 0, 'unset: no defaults');
});

test('a malformed FOLIO_WEBHOOK_DEFAULTS entry, or a tenant given twice, refuses to start with one line naming the setting and the entry', () => {
  for (const [value, why] of [
    ['acme', /"acme" is not tenant=url/],
    ['=https://x.test', /"=https:\/\/x.test" is not tenant=url/],
    ['acme=', /"acme=" is not tenant=url/],
    ['a=https://x.test,a=https://y.test', /tenant "a" is given twice/],
  ] as const) {
    assert.throws(
      () => loadConfig({ FOLIO_WEBHOOK_DEFAULTS: value }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        const line = e.message.split('\n').find((l) => l.includes('FOLIO_WEBHOOK_DEFAULTS'));
        assert.match(line ?? '', why, e.message);
        return true;
      },
    );
  }
});
