import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error: the package ships no types
import S3rver from '@20minutes/s3rver';

/** An S3-protocol server over HTTP on a free port (it checks request signatures), with a temp store. */
export async function startS3(): Promise<{ endpoint: string; accessKey: string; secretKey: string; close(): Promise<void> }> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'folio-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // s3rver's built-in credentials.
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    async close() {
      await new Promise((r) => server.close(r));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
