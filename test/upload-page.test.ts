import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';
import { readStatusEvents } from '../client/sse.js';

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
  // The page's own code, run here as the browser would: `follow` from its script, with fetch bound to the server
  // and the SSE parser it imports, which is the client package's file, served without a key.
  const src = /^( *)async function follow\(url, onStatus\) \{[\s\S]*?\n\1\}\n/m.exec(html)?.[0];
  assert.ok(src, 'the page defines follow()');
  assert.match(html, /import \{ readStatusEvents \} from '\/client\/sse\.js';/);
  const served = await fetch(`${stack.url}/client/sse.js`);
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(await served.text(), readFileSync(new URL('../client/sse.js', import.meta.url), 'utf8'));
  const auth = () => ({ authorization: `Bearer ${KEY}` });
  const pageFetch = (u: string, o?: RequestInit) => fetch(new URL(u, stack.url), o);
  const follow = new Function('auth', 'fetch', 'readStatusEvents', `${src}; return follow;`)(auth, pageFetch, readStatusEvents);

  const job = await (await upload(stack.url, '/v1/jobs', png, { headers: { authorization: `Bearer ${KEY}`, origin: stack.url } })).json();
  const seen: string[] = [];
  await follow(job.links.events, async (s: { status: string }) => {
    seen.push(s.status);
    return ['completed', 'partial', 'failed', 'cancelled'].includes(s.status);
  });
  const end = await (await fetch(`${stack.url}/v1/jobs/${job.id}`, { headers: auth() })).json();
  assert.equal(seen.at(-1), 'completed', `${seen.join(' → ')}: ${JSON.stringify(end.error ?? end.pageDetails)}`);

  // Without the key the stream is refused with the JSON error the page shows.
  await assert.rejects(
    new Function('auth', 'fetch', 'readStatusEvents', `${src}; return follow;`)(() => ({}), pageFetch, readStatusEvents)(job.links.events, async () => true),
    /FOLIO_UNAUTHORIZED/,
  );
});
