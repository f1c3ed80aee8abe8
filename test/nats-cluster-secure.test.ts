import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { freePort } from './helpers/nats-server.ts';

const SECURE_CONF = fileURLToPath(new URL('../deploy/nats-cluster-secure.conf', import.meta.url));
const PASSWORDS = {
  NATS_INGEST_PASSWORD: 'ingestpw1',
  NATS_RASTERIZER_PASSWORD: 'rasterpw1',
  NATS_OCR_PASSWORD: 'ocrpw1',
  NATS_ASSEMBLER_PASSWORD: 'assemblerpw1',
};

async function nodeEnv() {
  const [client, route] = [await freePort(), await freePort()];
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'folio-secure-node-'));
  const env = {
    PATH: process.env.PATH ?? '',
    NATS_NODE_NAME: 'secure-n1',
    NATS_CLIENT_LISTEN: `127.0.0.1:${client}`,
    NATS_CLUSTER_LISTEN: `127.0.0.1:${route}`,
    NATS_STORE_DIR: storeDir,
    NATS_ROUTE_1: `nats-route://127.0.0.1:${route}`,
    NATS_ROUTE_2: `nats-route://127.0.0.1:${await freePort()}`,
    NATS_ROUTE_3: `nats-route://127.0.0.1:${await freePort()}`,
    ...PASSWORDS,
  };
  return { env, client, storeDir };
}

test('the production cluster config (cluster + Folio users) is valid, keeps the node store, and refuses a client without credentials', async () => {
  const { env, client, storeDir } = await nodeEnv();
  const checked = spawnSync('nats-server', ['-c', SECURE_CONF, '-t'], { env, encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stderr);
  const { NATS_OCR_PASSWORD: _unset, ...withoutOne } = env;
  const missing = spawnSync('nats-server', ['-c', SECURE_CONF, '-t'], { env: withoutOne, encoding: 'utf8' });
  assert.notEqual(missing.status, 0, 'a missing service password stops the node');

  const server = spawn('nats-server', ['-c', SECURE_CONF], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  try {
    const until = Date.now() + 10_000;
    while (!/Server is ready/.test(log) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, new RegExp(`Store Directory: "${storeDir}`), "JetStream keeps the node's own store");
    assert.match(log, /Starting JetStream cluster/);
    await assert.rejects(connect({ servers: `127.0.0.1:${client}`, reconnect: false }), /Authorization/i);
    const nc = await connect({ servers: `127.0.0.1:${client}`, user: 'ingest', pass: PASSWORDS.NATS_INGEST_PASSWORD, reconnect: false });
    await nc.close();
  } finally {
    server.kill('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
  }
});
