// The comparator for bench/ingest-memory.ts: the least an upload endpoint can do — stream the body
// to a temp file while hashing it — as plain JavaScript on node, as the compiled ingest runs.
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

const server = createServer(async (req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  const file = path.join(os.tmpdir(), `folio-sink-${process.pid}-${Date.now()}`);
  const hash = createHash('sha256');
  const tap = new Transform({ transform: (chunk, _e, cb) => (hash.update(chunk), cb(null, chunk)) });
  await pipeline(req, tap, createWriteStream(file));
  rmSync(file, { force: true });
  res.end(JSON.stringify({ sha256: hash.digest('hex') }));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
