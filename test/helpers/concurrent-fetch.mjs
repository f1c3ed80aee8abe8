// N concurrent uploads to Folio with Node's own fetch (undici, default settings), in a process of
// its own as a user's client would be: prints one JSON line per request, {"status", "retryAfter",
// "id"} or {"error": "CODE: message"} when no HTTP status came back.
// usage: node concurrent-fetch.mjs URL FILE N [API_KEY]
import { readFileSync } from 'node:fs';

const [url, file, n, key] = process.argv.slice(2);
const data = readFileSync(file);
await Promise.all(
  Array.from({ length: Number(n) }, async (_, i) => {
    const form = new FormData();
    form.append('file', new Blob([data], { type: 'image/png' }), `page-${i}.png`);
    let out;
    try {
      const res = await fetch(url, { method: 'POST', body: form, headers: key ? { 'x-api-key': key } : {} });
      const body = await res.json().catch(() => ({}));
      out = { status: res.status, retryAfter: res.headers.get('retry-after'), id: body.id };
    } catch (err) {
      out = { error: `${err.cause?.code ?? err.name}: ${err.cause?.message ?? err.message}` };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }),
);
