import assert from 'node:assert/strict';
import { FolioError } from '../../shared/operations/index.ts';

/** Asserts that the promise rejects with a FolioError of this code, and returns it for further checks. */
export async function refuses(promise: Promise<unknown>, code: string): Promise<FolioError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FolioError, `expected a FolioError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}
