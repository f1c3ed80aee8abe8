import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { natsUsersConf, passwordAuth, SERVICE_USERS, servicePasswordVar, type NatsAuth } from '../config/nats-auth.ts';

/** A password nats-server reads as a plain string token (see nats.conf), 192 random bits. */
export const randomNatsPassword = () => `p${randomBytes(24).toString('hex')}`;

/** The user the one-process stack connects as (inbox prefix _INBOX_folio). */
export const ONE_PROCESS_USER = 'folio';

/**
 * The union of nats.conf's four service permission sets, as their common wildcards: one process
 * running all four services shares one connection. Used only here, on loopback, with a password
 * made at each start.
 */
const ONE_PROCESS_PERMISSIONS = `{
      publish: { allow: ["folio.>", "$JS.API.>", "$JS.ACK.FOLIO_JOBS.>", "$JS.ACK.FOLIO_PAGES.>", "$JS.ACK.FOLIO_PAGE_RESULTS.>", "$JS.ACK.FOLIO_JOB_EVENTS.>", "$JS.FC.>", "$KV.>", "$O.>"] }
      subscribe: { allow: ["_INBOX_${ONE_PROCESS_USER}.>", "folio.events.>"] }
    }`;

export interface LocalNats {
  url: string;
  child: ChildProcess;
  /** How the in-process services connect (user "folio", a fresh random password). */
  auth: NatsAuth;
  /** Where the generated config and the tenants' subscriber passwords are (mode 0600). */
  credentialsFile: string;
}

/**
 * One-machine mode: when no NATS URL is configured, run nats-server with the project's nats.conf
 * and a store under the data dir. Authenticated like any deployment, with no setup: every start
 * makes new random passwords (the four service users, the one-process user, one event subscriber
 * per tenant), hands them to nats-server through its environment and a generated config file, and
 * returns the one-process user's credentials to the caller. The child dies with us.
 */
export async function startLocalNats(opts: { bin: string; confPath: string; dataDir: string; port?: number; tenants?: string[] }): Promise<LocalNats> {
  const port = opts.port ?? 4223;
  const natsDir = path.resolve(opts.dataDir, 'nats');
  const storeDir = natsDir; // the store's jetstream/ directory lives here, as before
  mkdirSync(storeDir, { recursive: true });

  const servicePasswords = Object.fromEntries(SERVICE_USERS.map((u) => [servicePasswordVar(u), randomNatsPassword()]));
  const password = randomNatsPassword();
  const tenants = [...new Set(opts.tenants?.length ? opts.tenants : ['default'])].map((tenant) => ({ tenant, password: randomNatsPassword() }));
  const confFile = path.join(natsDir, 'folio-local.conf');
  writeFileSync(
    confFile,
    natsUsersConf({
      file: confFile,
      natsConf: opts.confPath,
      header: '# Written by `npm start` at each start (shared/bus/local-nats.ts); the passwords change every time.',
      extraUsers: [{ user: ONE_PROCESS_USER, password, permissions: ONE_PROCESS_PERMISSIONS }],
      tenants,
    }),
    { mode: 0o600 },
  );
  // For `nats sub --user <tenant> --password ...` against the local server.
  const credentialsFile = path.join(natsDir, 'subscribers.json');
  writeFileSync(
    credentialsFile,
    JSON.stringify(
      { url: `nats://127.0.0.1:${port}`, subscribers: tenants.map((t) => ({ user: t.tenant, password: t.password, subjects: `folio.events.${t.tenant}.>` })) },
      null,
      2,
    ) + '\n',
    { mode: 0o600 },
  );

  const child = spawn(opts.bin, ['-c', confFile, '-a', '127.0.0.1', '-p', String(port), '-m', '0', '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...servicePasswords },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start ${opts.bin}: ${err.message} (install it: apt-get install nats-server)`)));
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${stderr.trim()}`)));
  });
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('nats-server did not start listening');
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => {});
  process.once('exit', () => child.kill('SIGTERM'));
  return { url: `nats://127.0.0.1:${port}`, child, auth: passwordAuth(ONE_PROCESS_USER, password), credentialsFile };
}
