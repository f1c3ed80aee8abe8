import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiKeyError, ApiKeyring, parseApiKeysEnv, parseApiKeysFile, ConfigError, loadConfig } from '../shared/config/index.ts';

const B64 = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ4A=='; // base64 with "=" padding
const OTHER = 'Zm9saW8tcm90YXRpb24ta2V5LTI=';

function tmpFile(text: string): string {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'folio-keys-')), 'api-keys');
  writeFileSync(f, text);
  return f;
}

/** Asserts the parse fails with a message naming `where` and never containing the key itself. */
function refuses(fn: () => unknown, where: RegExp, secret?: string) {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ApiKeyError || e instanceof ConfigError, String(e));
    assert.match(e.message, where);
    if (secret) assert.ok(!e.message.includes(secret), `the message reveals the key: ${e.message}`);
    return true;
  });
}

test('entries are "tenant=key", split on the first "=", so base64 keys with padding work', () => {
  const keys = new ApiKeyring(parseApiKeysEnv(`acme=${B64}, globex=${OTHER}`));
  assert.equal(keys.find(B64)?.tenant, 'acme');
  assert.equal(keys.find(OTHER)?.tenant, 'globex');
  assert.equal(keys.find(B64.slice(0, -1)), undefined, 'a prefix is not the key');
  assert.equal(keys.find(`${B64}=`), undefined);
});

test('a key file: one entry per line, comments and blank lines skipped, CRLF and a BOM tolerated', () => {
  const keys = new ApiKeyring(
    parseApiKeysFile(`\uFEFF# tenants of the staging cluster\r\n\r\nacme = ${B64}\r\n  # rotation: the next key\r\nacme=${OTHER}\r\n`, 'keys.txt'),
  );
  assert.equal(keys.size, 2);
  assert.equal(keys.find(B64)?.tenant, 'acme');
  assert.equal(keys.find(OTHER)?.tenant, 'acme');
  assert.deepEqual(keys.tenants, ['acme']);
});

test('two keys per tenant (rotation), each with its own key id; a third is refused', () => {
  const [a, b] = parseApiKeysEnv(`acme=${B64},acme=${OTHER}`);
  assert.notEqual(a.keyId, b.keyId);
  assert.equal(a.keyId, createHash('sha256').update(B64).digest('hex').slice(0, 8), 'the key id is the first 8 hex digits of its SHA-256');
  refuses(() => parseApiKeysEnv(`acme=${B64},acme=${OTHER},acme=third-key-0123456789`), /entry 3.*more than 2 keys/);
});

test('malformed entries stop start-up with a message naming the entry or line, never the key', () => {
  const secret = 'this-is-a-secret-key-value';
  refuses(() => parseApiKeysEnv(`acme=${B64},${secret}`), /FOLIO_API_KEYS entry 2: expected "tenant=key"/, secret);
  refuses(() => parseApiKeysFile(`acme=${B64}\n\nno equals sign ${secret}\n`, 'keys.txt'), /keys\.txt line 3/, secret);
  refuses(() => parseApiKeysEnv(`acme=`), /entry 1: the key is empty/);
  refuses(() => parseApiKeysEnv(`acme=short`), /entry 1: the key must be 16-512 characters/, 'short');
  refuses(() => parseApiKeysEnv(`acme=${secret} with spaces`), /entry 1/, secret);
  refuses(() => parseApiKeysEnv(`=${secret}`), /entry 1: the tenant name/, secret);
});

test('the old "key=tenant" order is caught: the tenant part would be far too short to be a key', () => {
  refuses(() => parseApiKeysEnv(`${'k'.repeat(20)}=acme`), /the key must be 16-512 characters.*tenant=key/);
});

test('tenant names are checked as NATS subject tokens and bounded', () => {
  for (const bad of ['acme.corp', 'acme*', 'a>b', 'a b', 'tenant/x', 'ü', 'x'.repeat(65)]) {
    refuses(() => parseApiKeysEnv(`${bad}=${B64}`), /tenant name must be 1-64 characters of A-Z a-z 0-9 _ -/);
  }
  assert.equal(parseApiKeysEnv(`Team_A-1=${B64}`)[0].tenant, 'Team_A-1');
});

test('a duplicated key stops start-up, naming both places, even for different tenants', () => {
  refuses(() => parseApiKeysEnv(`acme=${B64},globex=${B64}`), /entry 2: the same key is already given at FOLIO_API_KEYS entry 1/, B64);
  refuses(() => parseApiKeysFile(`acme=${B64}\nacme=${B64}\n`, 'k'), /k line 2: the same key is already given at k line 1/, B64);
});

test('only hashes are kept: the keyring never serialises a key', () => {
  const keys = new ApiKeyring(parseApiKeysEnv(`acme=${B64}`));
  const dump = JSON.stringify({ keys }) + JSON.stringify(loadConfig({ FOLIO_API_KEYS: `acme=${B64}` }));
  assert.ok(!dump.includes(B64), dump);
  assert.ok(!dump.includes(B64.slice(0, 12)));
  assert.match(dump, /"keyId":"[0-9a-f]{8}"/);
});

test('matching compares every known hash in constant time (timingSafeEqual, no early exit)', () => {
  assert.equal(new ApiKeyring().compare, timingSafeEqual, 'the default comparison is crypto.timingSafeEqual');
  const compared: Array<[number, number]> = [];
  const counting = (a: Buffer, b: Buffer) => {
    compared.push([a.length, b.length]);
    return timingSafeEqual(a, b);
  };
  const keys = new ApiKeyring(parseApiKeysEnv(`a=${B64},b=${OTHER},c=third-key-0123456789`), counting);
  assert.equal(keys.find(B64)?.tenant, 'a');
  assert.equal(compared.length, 3, 'a match on the first key still compares the others');
  assert.equal(keys.find('x')?.tenant, undefined);
  assert.equal(keys.find('nothing-like-any-key-at-all-but-longer-than-any-key-'.repeat(10))?.tenant, undefined);
  assert.equal(compared.length, 9, 'a miss compares every key, whatever the length presented');
  assert.ok(
    compared.every(([a, b]) => a === 32 && b === 32),
    'hashes of equal length are compared, never the raw keys',
  );
});

test('config: FOLIO_API_KEYS_FILE is read at start-up; errors name the file and line', () => {
  const f = tmpFile(`# keys\nacme=${B64}\n`);
  assert.equal(loadConfig({ FOLIO_API_KEYS_FILE: f }).ingest.apiKeys.find(B64)?.tenant, 'acme');
  refuses(() => loadConfig({ FOLIO_API_KEYS_FILE: tmpFile(`acme=${B64}\nglobex.x=${OTHER}\n`) }), /FOLIO_API_KEYS_FILE: .*line 2/, OTHER);
  refuses(() => loadConfig({ FOLIO_API_KEYS_FILE: tmpFile('# nothing yet\n') }), /holds no key/);
  refuses(() => loadConfig({ FOLIO_API_KEYS_FILE: '/nonexistent/folio-keys' }), /cannot read \/nonexistent\/folio-keys: ENOENT/);
  refuses(() => loadConfig({ FOLIO_API_KEYS_FILE: f, FOLIO_API_KEYS: `x=${OTHER}` }), /not both/);
});

test('config: without keys ingest defaults to loopback; with keys to every interface', () => {
  assert.equal(loadConfig({}).ingest.host, '127.0.0.1');
  assert.equal(loadConfig({ FOLIO_API_KEYS: `acme=${B64}` }).ingest.host, '0.0.0.0');
  assert.equal(loadConfig({ FOLIO_HTTP_HOST: '10.0.0.5', FOLIO_API_KEYS: `acme=${B64}` }).ingest.host, '10.0.0.5');
});
