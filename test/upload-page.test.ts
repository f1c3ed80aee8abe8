import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY = 'acme-key-AAAAAAAAAAAAAAAAAAAAAAAA==';
let stack: TestStack;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}` } });
});
after(async () => {
  await stack?.close();
});

test('the upload page is served without a key and has a key field kept in sessionStorage, not in URLs or cookies', async () => {
  const res = await fetch(`${stack.url}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<input id="key" type="password"/);
  assert.match(html, /sessionStorage\.setItem\('folio-api-key'/);
  assert.doesNotMatch(html, /document\.cookie|new EventSource|[?&](?:key|token)=/);
});

test("the page's progress stream (SSE read over fetch, with the key in a header) follows a job to its end", async () => {
  const html = await (await fetch(`${stack.url}/`)).text();
  // The page's own code, run here as the browser would: `follow` from its script, with fetch bound to the server.
  const src = /async function follow\(url, onStatus\) \{[\s\S]*?\n\}\n/.exec(html)?.[0];
  assert.ok(src, 'the page defines follow()');
  const auth = () => ({ authorization: `Bearer ${KEY}` });
  const pageFetch = (u: string, o?: RequestInit) => fetch(new URL(u, stack.url), o);
  const follow = new Function('auth', 'fetch', 'TextDecoderStream', `${src}; return follow;`)(auth, pageFetch, TextDecoderStream);

  const job = await (await upload(stack.url, '/v1/jobs', png, { headers: { authorization: `Bearer ${KEY}`, origin: stack.url } })).json();
  const seen: string[] = [];
  await follow(job.links.events, async (s: { status: string }) => {
    seen.push(s.status);
    return ['completed', 'partial', 'failed', 'cancelled'].includes(s.status);
  });
  const end = await (await fetch(`${stack.url}/v1/jobs/${job.id}`, { headers: auth() })).json();
  assert.equal(seen.at(-1), 'completed', `${seen.join(' → ')}: ${JSON.stringify(end.error ?? end.pageDetails)}`);

  // Without the key the stream is refused with the JSON error the page shows.
  await assert.rejects(new Function('auth', 'fetch', 'TextDecoderStream', `${src}; return follow;`)(() => ({}), pageFetch, TextDecoderStream)(job.links.events, async () => true), /FOLIO_UNAUTHORIZED/);
});
