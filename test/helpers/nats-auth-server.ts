import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nkeys } from '@nats-io/transport-node';
import { randomNatsPassword } from '../../shared/bus/index.ts';
import { natsUsersConf, SERVICE_USERS, servicePasswordVar } from '../../shared/config/index.ts';
import { freePort } from './nats-server.ts';

export const NATS_CONF = fileURLToPath(new URL('../../nats.conf', import.meta.url));
export type ServiceUser = (typeof SERVICE_USERS)[number];

export interface AuthNats {
  url: string;
  /** Each service user's password, as nats-server got it from its environment. */
  passwords: Record<ServiceUser, string>;
  /** Each tenant subscriber's nkey seed (the server's config holds only the public key). */
  tenantSeeds: Record<string, Uint8Array>;
  /** nats-server's own log so far: it logs each refusal ("Publish Violation", "Subscription Violation"). */
  log(): string;
  destroy(): Promise<void>;
}

/**
 * A real nats-server run with the project's nats.conf, as deployments run it: random service
 * passwords in its environment and a generated users file adding one nkey subscriber per tenant.
 */
export async function startAuthNats(tenants: string[] = []): Promise<AuthNats> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-nats-auth-'));
  const passwords = Object.fromEntries(SERVICE_USERS.map((u) => [u, randomNatsPassword()])) as Record<ServiceUser, string>;
  const pairs = tenants.map((t) => [t, nkeys.createUser()] as const);
  const confFile = path.join(dir, 'nats-users.conf');
  writeFileSync(confFile, natsUsersConf({ file: confFile, natsConf: NATS_CONF, tenants: pairs.map(([tenant, kp]) => ({ tenant, nkey: kp.getPublicKey() })) }));
  const port = await freePort();
  let log = '';
  const proc: ChildProcess = spawn('nats-server', ['-c', confFile, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'store')], {
    env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(SERVICE_USERS.map((u) => [servicePasswordVar(u), passwords[u]])) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (log += String(d)));
  proc.stderr!.on('data', (d) => (log += String(d)));
  const until = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > until) throw new Error(`nats-server did not listen: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    passwords,
    tenantSeeds: Object.fromEntries(pairs.map(([t, kp]) => [t, kp.getSeed()])),
    log: () => log,
    async destroy() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
