import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * One-machine mode: when no NATS_URL is configured, run nats-server with the project's nats.conf
 * and a store under the data dir. The child dies with us.
 */
export async function startLocalNats(opts: { bin: string; confPath: string; dataDir: string; port?: number }): Promise<{ url: string; child: ChildProcess }> {
  const port = opts.port ?? 4223;
  const storeDir = path.resolve(opts.dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(opts.bin, ['-c', opts.confPath, '-a', '127.0.0.1', '-p', String(port), '-m', '0', '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
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
  return { url: `nats://127.0.0.1:${port}`, child };
}
