import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { connect, nkeyAuthenticator, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { loadConfig, passwordAuth } from '../shared/config/index.ts';
import { connectNats, ONE_PROCESS_USER, Buckets, Consumers, Streams, Subjects } from '../shared/bus/index.ts';
import { createRuntime, type Runtime, type Stoppable } from '../shared/operations/index.ts';
import { startAssembler } from '../services/assembler/service.ts';
import { startIngest } from '../services/ingest/service.ts';
import { startOcr } from '../services/ocr/service.ts';
import { startRasterizer } from '../services/rasterizer/service.ts';
import { startStack } from '../services/all/stack.ts';
import { buildNatsUsers } from '../tools/nats-users.ts';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { startAuthNats, type AuthNats, type ServiceUser } from './helpers/nats-auth-server.ts';
import { freePort } from './helpers/nats-server.ts';
import { startServiceProcess } from './helpers/service-process.ts';
import { upload, waitForTerminal } from './helpers/stack.ts';

const KEY_A = 'tenant-a-key-0123456789abcdef';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const PERMISSION = /Permissions Violation/;

let nats: AuthNats;
let sim: Awaited<ReturnType<typeof startVllmSimulator>>;
const open: NatsConnection[] = [];

/** The environment one service of a deployment gets: its own NATS user; only ingest manages JetStream. */
function serviceEnv(user: ServiceUser, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: nats.url,
    NATS_USER: user,
    NATS_PASSWORD: nats.passwords[user],
    FOLIO_NATS_MANAGE: user === 'ingest' ? 'true' : 'false',
    FOLIO_API_KEYS: `tenantA=${KEY_A}`,
    FOLIO_HTTP_HOST: '127.0.0.1',
    VLLM_BASE_URLS: sim.url,
    FOLIO_TMP_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-test-')),
    FOLIO_ACK_WAIT_MS: '3000',
    FOLIO_RETRY_BASE_MS: '100',
    FOLIO_RATE_LIMIT_MAX: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...extra,
  };
}

async function as(user: ServiceUser): Promise<NatsConnection> {
  const nc = await connectNats(nats.url, `test-${user}`, passwordAuth(user, nats.passwords[user]));
  open.push(nc);
  return nc;
}

async function asTenant(tenant: string): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(nats.tenantSeeds[tenant]) });
  open.push(nc);
  return nc;
}

/** A subscription the server refuses closes with a permission error. */
async function subscriptionRefused(nc: NatsConnection, subject: string): Promise<Error | undefined> {
  const sub = nc.subscribe(subject);
  const closed = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 5000))]);
  if (closed === 'open') sub.unsubscribe();
  return closed === 'open' ? undefined : (closed as Error | undefined);
}

before(async () => {
  nats = await startAuthNats(['tenantA', 'tenantB']);
  sim = await startVllmSimulator({ prefillMs: 5, msPerToken: 0.05 });
});
after(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await sim?.close();
  await nats?.destroy();
});

describe('each service as its own NATS user', () => {
  const runtimes: Runtime[] = [];
  const running: Stoppable[] = [];
  let url = '';

  before(async () => {
    // Ingest first: it is the only user allowed to create the streams, consumers and buckets.
    const ingestRt = await createRuntime(loadConfig(serviceEnv('ingest')), 'ingest', nats.url);
    runtimes.push(ingestRt);
    const ingest = await startIngest(ingestRt, { host: '127.0.0.1', port: 0 });
    url = ingest.url;
    running.push(ingest);
    const rasterRt = await createRuntime(loadConfig(serviceEnv('rasterizer')), 'rasterizer', nats.url);
    const ocrRt = await createRuntime(loadConfig(serviceEnv('ocr')), 'ocr', nats.url);
    const asmRt = await createRuntime(loadConfig(serviceEnv('assembler')), 'assembler', nats.url);
    runtimes.push(rasterRt, ocrRt, asmRt);
    running.push(startRasterizer(rasterRt), await startOcr(ocrRt), startAssembler(asmRt));
  });
  after(async () => {
    for (const s of running) await s.stop().catch(() => {});
    for (const rt of runtimes) await rt.bus.nc.drain().catch(() => {});
  });

  test('a PDF and an image go through the pipeline, every service connected as its own user, with no permission refused', async () => {
    for (const rt of runtimes) assert.equal(rt.config.nats.auth.method, 'password');
    assert.deepEqual(
      runtimes.map((rt) => rt.config.nats.auth.user),
      ['ingest', 'rasterizer', 'ocr', 'assembler'],
    );

    // Tenant A's event subscriber, a NATS client of its own, hears its job complete.
    const subscriber = await asTenant('tenantA');
    const events = subscriber.subscribe(Subjects.eventsOfTenant('tenantA'));
    const auth = { authorization: `Bearer ${KEY_A}` };
    const pdf = await upload(url, '/v1/jobs', makePdf(['First page', 'Second page']), { filename: 'two.pdf', headers: auth });
    assert.equal(pdf.status, 202, await pdf.clone().text());
    const png = await upload(url, '/v1/jobs', fixture('english.png'), { filename: 'english.png', headers: auth });
    assert.equal(png.status, 202);
    const ids = [(await pdf.json()).id, (await png.json()).id];
    const refused = () =>
      nats
        .log()
        .split('\n')
        .filter((l) => / Violation - /.test(l))
        .join('\n');
    for (const id of ids) {
      const job = await waitForTerminal(url, id, 60_000, auth).catch((err: Error) => assert.fail(`${err.message}\nrefused by nats-server:\n${refused()}`));
      assert.equal(job.status, 'completed', `${JSON.stringify(job)}\nrefused by nats-server:\n${refused()}`);
    }
    const md = await fetch(`${url}/v1/jobs/${ids[0]}/result`, { headers: auth });
    assert.equal(md.status, 200);
    assert.match(await md.text(), /SIMULATED OUTPUT/);

    const heard = new Set<string>();
    const deadline = setTimeout(() => events.unsubscribe(), 10_000);
    for await (const m of events) {
      if (m.subject.endsWith('.completed')) heard.add(m.subject.split('.')[3]);
      if (ids.every((id) => heard.has(id))) break;
    }
    clearTimeout(deadline);
    assert.deepEqual([...heard].sort(), [...ids].sort(), 'tenant A heard both completions');

    // A sync call (ingest waits on the job's events) and deleting a finished job's data.
    const sync = await upload(url, '/v1/ocr?wait=30', fixture('english.png'), { filename: 'english.png', headers: auth, fields: { cache: 'bypass' } });
    assert.equal(sync.status, 200, await sync.clone().text());
    assert.equal((await fetch(`${url}/v1/jobs/${ids[1]}`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await fetch(`${url}/v1/jobs/${ids[1]}`, { headers: auth })).status, 404);

    assert.equal(refused(), '', 'no call of any service was refused');
  });
});

describe('what each user is refused', () => {
  test('the ocr user cannot submit jobs (publish folio.job.submitted)', async () => {
    const js = jetstream(await as('ocr'));
    await assert.rejects(js.publish(Subjects.jobSubmitted('tenantA', 'forged'), '{}', { timeout: 5000 }), PERMISSION);
  });

  test('the rasterizer cannot forge OCR results (publish folio.page.done); it may only report a page it could not render', async () => {
    const js = jetstream(await as('rasterizer'));
    await assert.rejects(js.publish(Subjects.pageDone('tenantA', 'forged'), '{}', { timeout: 5000 }), PERMISSION);
    await js.publish(Subjects.pageFailed('tenantA', 'unrenderable'), '{}', { timeout: 5000 });
  });

  test("the ocr user cannot pull the rasterizer's or the assembler's work, nor read the result cache", async () => {
    const nc = await as('ocr');
    const js = jetstream(nc);
    await assert.rejects(js.consumers.get(Streams.jobs, 'rasterizer'), PERMISSION);
    await assert.rejects(js.consumers.get(Streams.pageResults, 'assembler'), PERMISSION);
    const cache = await new Kvm(nc).open(Buckets.cache);
    await assert.rejects(cache.get('anything'), PERMISSION);
  });

  test("a service cannot listen on another service's inbox", async () => {
    const err = await subscriptionRefused(await as('ocr'), '_INBOX_ingest.>');
    assert.match(String(err), PERMISSION);
  });

  test('only ingest manages JetStream: the others cannot create, change or delete streams; nobody deletes one', async () => {
    for (const user of ['rasterizer', 'ocr', 'assembler'] as const) {
      const jsm = await jetstreamManager(await as(user));
      await assert.rejects(jsm.streams.add({ name: 'FOLIO_ROGUE', subjects: ['rogue.>'] }), PERMISSION, `${user} creates a stream`);
      await assert.rejects(jsm.streams.update(Streams.events, { max_age: 1_000_000_000 }), PERMISSION, `${user} changes a stream`);
      await assert.rejects(jsm.streams.delete(Streams.jobs), PERMISSION, `${user} deletes a stream`);
    }
    const jsm = await jetstreamManager(await as('ingest'));
    const have = await jsm.streams.info(Streams.events);
    await jsm.streams.add(have.config); // ingest may (re)create a Folio stream: same config, a no-op
    await assert.rejects(jsm.streams.add({ name: 'FOLIO_ROGUE', subjects: ['rogue.>'] }), PERMISSION, 'ingest creates only the streams of subjects.ts');
    await assert.rejects(jsm.streams.delete(Streams.events), PERMISSION, 'ingest deletes a stream');
  });

  test('no service publishes a job event where subscribers hear it: only on the event log, which the stream stores and republishes once', async () => {
    for (const user of ['ingest', 'rasterizer', 'assembler'] as const) {
      const js = jetstream(await as(user));
      await assert.rejects(
        js.publish(Subjects.event('tenantA', 'direct', 'completed'), '{}', { timeout: 5000 }),
        PERMISSION,
        `${user} publishes around the stream`,
      );
      await js.publish(Subjects.eventLog('tenantA', `logged-by-${user}`, 'completed'), '{}', { timeout: 5000 });
    }
  });

  test("a tenant's subscriber cannot subscribe to another tenant's events, nor to all events", async () => {
    const a = await asTenant('tenantA');
    assert.match(String(await subscriptionRefused(a, Subjects.eventsOfTenant('tenantB'))), PERMISSION);
    assert.match(String(await subscriptionRefused(a, Subjects.allEvents)), PERMISSION);
    assert.match(String(await subscriptionRefused(a, 'folio.page.>')), PERMISSION);
    assert.equal(await subscriptionRefused(a, Subjects.eventsOfTenant('tenantA')), undefined, 'its own events it may');
  });

  test("a tenant's subscriber cannot read the job bucket or the object store, nor publish anything", async () => {
    const a = await asTenant('tenantA');
    const jobs = await new Kvm(a).open(Buckets.jobs);
    await assert.rejects(jobs.get('anything'), PERMISSION);
    await assert.rejects(jetstreamManager(a), PERMISSION);
    await assert.rejects(jetstream(a).publish(Subjects.event('tenantB', 'forged', 'completed'), '{}', { timeout: 5000 }), PERMISSION);
  });

  test('without credentials, with a wrong password or an unknown nkey, nobody connects', async () => {
    await assert.rejects(connect({ servers: nats.url, reconnect: false }), /Authorization Violation/);
    await assert.rejects(connect({ servers: nats.url, reconnect: false, user: 'ingest', pass: 'wrong-password-123' }), /Authorization Violation/);
    await assert.rejects(
      connect({ servers: nats.url, reconnect: false, authenticator: nkeyAuthenticator(nkeys.createUser().getSeed()) }),
      /Authorization Violation/,
    );
  });
});

describe('one-machine mode (npm start)', () => {
  test('its own nats-server is authenticated too, with no setup: the stack connects, strangers do not, the tenant subscriber hears its events', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'folio-local-'));
    const config = loadConfig({
      FOLIO_DATA_DIR: dataDir,
      FOLIO_LOCAL_NATS_PORT: String(await freePort()),
      FOLIO_HTTP_HOST: '127.0.0.1',
      VLLM_BASE_URLS: sim.url,
      FOLIO_TMP_DIR: dataDir,
      FOLIO_RATE_LIMIT_MAX: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    });
    const stack = await startStack(config, { port: 0 });
    try {
      assert.equal(stack.rt.config.nats.auth.method, 'password');
      assert.equal(stack.rt.config.nats.auth.user, ONE_PROCESS_USER);
      await assert.rejects(connect({ servers: stack.natsUrl, reconnect: false }), /Authorization Violation/);
      const creds = JSON.parse(readFileSync(path.join(dataDir, 'nats', 'subscribers.json'), 'utf8'));
      assert.equal(statSync(path.join(dataDir, 'nats', 'subscribers.json')).mode & 0o077, 0, 'only the owner may read the passwords');
      const mine = creds.subscribers.find((s: { user: string }) => s.user === 'default');
      const sub = await connect({ servers: stack.natsUrl, user: mine.user, pass: mine.password });
      open.push(sub);
      const events = sub.subscribe(Subjects.eventsOfTenant('default'), { max: 1 });
      assert.match(String(await subscriptionRefused(sub, Subjects.allEvents)), PERMISSION);

      const res = await upload(stack.url, '/v1/jobs', fixture('english.png'), { filename: 'english.png' });
      assert.equal(res.status, 202);
      const { id } = await res.json();
      assert.equal((await waitForTerminal(stack.url, id)).status, 'completed');
      const timer = setTimeout(() => events.unsubscribe(), 10_000);
      let heard = '';
      for await (const m of events) heard = m.subject;
      clearTimeout(timer);
      assert.equal(heard, Subjects.event('default', id, 'completed'));
    } finally {
      await stack.stop();
    }
  });
});

describe('credentials from configuration', () => {
  test('NATS_USER/NATS_PASSWORD: the password is not in the config object, its JSON or its inspection', () => {
    const c = loadConfig({ NATS_USER: 'ocr', NATS_PASSWORD: 'pSecretPassword123' });
    assert.equal(c.nats.auth.method, 'password');
    assert.equal(c.nats.auth.user, 'ocr');
    assert.equal(c.nats.auth.inboxPrefix, '_INBOX_ocr');
    assert.equal(c.nats.password, '[redacted]');
    assert.doesNotMatch(JSON.stringify(c), /pSecretPassword123/);
    assert.doesNotMatch(inspect(c, { depth: 10, showHidden: true }), /pSecretPassword123/);
  });

  test('NATS_PASSWORD_FILE and NATS_NKEY read mounted secrets; wrong combinations stop start-up', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-nats-secrets-'));
    writeFileSync(path.join(dir, 'pw'), `${nats.passwords.assembler}\n`);
    const byFile = loadConfig({ NATS_USER: 'assembler', NATS_PASSWORD_FILE: path.join(dir, 'pw') });
    const nc = await connectNats(nats.url, 'test', byFile.nats.auth);
    open.push(nc);
    assert.equal(nc.info?.client_id !== undefined, true);

    writeFileSync(path.join(dir, 'seed'), new TextDecoder().decode(nats.tenantSeeds.tenantB));
    const byNkey = loadConfig({ NATS_NKEY: path.join(dir, 'seed') });
    assert.equal(byNkey.nats.auth.method, 'nkey');
    const b = await connectNats(nats.url, 'test', byNkey.nats.auth);
    open.push(b);
    assert.equal(await subscriptionRefused(b, Subjects.eventsOfTenant('tenantB')), undefined);

    assert.throws(() => loadConfig({ NATS_USER: 'x' }), /NATS_USER needs NATS_PASSWORD/);
    assert.throws(() => loadConfig({ NATS_PASSWORD: 'pSecret1234567' }), /needs NATS_USER/);
    assert.throws(() => loadConfig({ NATS_USER: 'x', NATS_PASSWORD: 'p', NATS_NKEY: path.join(dir, 'seed') }), /not NATS_PASSWORD and NATS_NKEY/);
    assert.throws(() => loadConfig({ NATS_NKEY: path.join(dir, 'pw') }), /does not hold an nkey user seed/);
    assert.throws(() => loadConfig({ NATS_PASSWORD_FILE: path.join(dir, 'missing'), NATS_USER: 'x' }), /cannot read NATS_PASSWORD_FILE/);
  });

  test('a service process logs neither its NATS password when it starts nor when the password is wrong', async () => {
    const env = (pass: string) => ({ NATS_URL: nats.url, NATS_USER: 'assembler', NATS_PASSWORD: pass, FOLIO_NATS_MANAGE: 'false', LOG_LEVEL: 'trace' });
    const ok = await startServiceProcess({ service: 'assembler', env: env(nats.passwords.assembler), readyTimeoutMs: 60_000 });
    try {
      assert.doesNotMatch(ok.logs(), new RegExp(nats.passwords.assembler));
    } finally {
      await ok.kill('SIGTERM');
    }
    const wrong = 'pWrongPassword0123456789';
    await assert.rejects(startServiceProcess({ service: 'assembler', env: env(wrong), readyTimeoutMs: 60_000 }), (err: Error) => {
      assert.match(err.message, /Authorization Violation|exited/);
      assert.doesNotMatch(err.message, new RegExp(wrong));
      return true;
    });
  });
});

describe('deployment files', () => {
  const root = new URL('..', import.meta.url);
  const servicePasswords = {
    PATH: process.env.PATH ?? '',
    NATS_INGEST_PASSWORD: 'pa1111111111',
    NATS_RASTERIZER_PASSWORD: 'pb1111111111',
    NATS_OCR_PASSWORD: 'pc1111111111',
    NATS_ASSEMBLER_PASSWORD: 'pd1111111111',
  };
  /** `nats-server -t`: parses the config as the server would start with it, and says so on stderr. */
  const natsCheck = (conf: string, env: Record<string, string>) => {
    const r = spawnSync('nats-server', ['-c', conf, '-t'], { env, encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`;
  };

  test('nats.conf names every stream, bucket and fixed consumer of subjects.ts (a new one needs its permissions)', () => {
    const conf = readFileSync(new URL('nats.conf', root), 'utf8');
    for (const stream of Object.values(Streams)) assert.match(conf, new RegExp(`STREAM\\.CREATE\\.${stream}"`), stream);
    for (const bucket of Object.values(Buckets)) {
      const stream = bucket === Buckets.blobs ? `OBJ_${bucket}` : `KV_${bucket}`;
      assert.match(conf, new RegExp(`STREAM\\.CREATE\\.${stream}"`), `${stream} is created by ingest`);
      assert.ok(conf.includes(bucket === Buckets.blobs ? `"$O.${bucket}.>"` : `"$KV.${bucket}.>"`), `${bucket} is written by someone`);
    }
    for (const [stream, durable] of [
      [Streams.jobs, Consumers.rasterizer],
      [Streams.pageResults, Consumers.assembler],
    ]) {
      assert.ok(conf.includes(`"$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}"`), `${durable} pulls`);
      assert.ok(conf.includes(`"$JS.ACK.${stream}.${durable}.>"`), `${durable} acks`);
    }
  });

  test('nats.conf refuses to start without the service passwords (no open bus by omission)', () => {
    assert.match(
      natsCheck(new URL('nats.conf', root).pathname, { PATH: process.env.PATH ?? '' }),
      /variable reference for 'NATS_INGEST_PASSWORD'.*can not be found/,
    );
    assert.match(natsCheck(new URL('nats.conf', root).pathname, servicePasswords), /configuration file .* is valid/);
  });

  test('the compose file runs NATS with the users file, publishes no NATS port, and takes every secret from deploy/.env or the keys file', () => {
    const compose = readFileSync(new URL('deploy/docker-compose.yml', root), 'utf8');
    const natsService = compose.slice(compose.indexOf('\n  nats:'), compose.indexOf('\n  minio:'));
    assert.match(natsService, /"-c", "\/etc\/nats\/deploy\/nats-users.conf"/);
    assert.doesNotMatch(natsService, /^\s+ports:/m, 'NATS is not published to the host');
    assert.doesNotMatch(compose, /change-me|:-folio/, 'no default secret');
    for (const user of ['ingest', 'rasterizer', 'ocr', 'assembler']) assert.match(compose, new RegExp(`NATS_USER: ${user}`));
    assert.match(compose, /FOLIO_API_KEYS_FILE: \/run\/secrets\/api_keys/);
    assert.match(natsCheck(new URL('deploy/nats-users.conf', root).pathname, servicePasswords), /configuration file .* is valid/);
    const example = readFileSync(new URL('deploy/.env.example', root), 'utf8');
    for (const v of ['NATS_INGEST_PASSWORD', 'NATS_RASTERIZER_PASSWORD', 'NATS_OCR_PASSWORD', 'NATS_ASSEMBLER_PASSWORD', 'S3_SECRET_KEY'])
      assert.match(example, new RegExp(`^${v}=$`, 'm'), `${v} is left for the operator`);
  });

  test('npm run nats:users gives each tenant of the keys file an nkey subscriber, keeps existing keys, and the file is valid', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-nats-users-'));
    const out = path.join(dir, 'nats-users.conf');
    const seedsDir = path.join(dir, 'seeds');
    const first = buildNatsUsers({ tenants: ['acme', 'globex'], out, natsConf: new URL('nats.conf', root).pathname, seedsDir });
    assert.deepEqual(first.created, ['acme', 'globex']);
    assert.equal(statSync(first.seeds.acme).mode & 0o077, 0, 'seeds are private');
    writeFileSync(out, first.conf);
    for (const file of Object.values(first.seeds))
      assert.ok(!first.conf.includes(readFileSync(file, 'utf8').trim()), 'the server config holds public keys only');
    assert.match(natsCheck(out, servicePasswords), /configuration file .* is valid/);
    const again = buildNatsUsers({ tenants: ['acme'], out, natsConf: new URL('nats.conf', root).pathname, seedsDir });
    assert.deepEqual(again.created, []);
    assert.equal(again.conf.match(/nkey: (U\w+)/)?.[1], first.conf.match(/nkey: (U\w+)/)?.[1], 'acme keeps its key');
    assert.deepEqual(again.orphanSeeds, [first.seeds.globex]);
  });
});
