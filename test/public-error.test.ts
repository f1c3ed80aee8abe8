import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorTable, FolioError, publicError, toFolioError } from '../shared/operations/errors.ts';

test('a FolioError shows its own message unless it wraps raw exception text (public: false)', () => {
  assert.deepEqual(publicError(new FolioError('FOLIO_PDF_CORRUPT', 'Page tree is broken')), { code: 'FOLIO_PDF_CORRUPT', message: 'Page tree is broken' });
  assert.deepEqual(publicError(new FolioError('FOLIO_UNAVAILABLE', 'The job queue is unavailable, try again')), {
    code: 'FOLIO_UNAVAILABLE',
    message: 'The job queue is unavailable, try again',
  });
  assert.deepEqual(publicError(toFolioError(new Error('ENOENT: /var/lib/folio/secret.pdf'))), {
    code: 'FOLIO_INTERNAL',
    message: ErrorTable.FOLIO_INTERNAL.message,
  });
});

test('a stored error (code and message, the flag lost) shows its message unless its code wraps raw text or is unknown', () => {
  assert.deepEqual(publicError({ code: 'FOLIO_ENGINE_TIMEOUT', message: 'vLLM took 120 s' }), { code: 'FOLIO_ENGINE_TIMEOUT', message: 'vLLM took 120 s' });
  assert.deepEqual(publicError({ code: 'FOLIO_INTERNAL', message: 'TypeError at /srv/x.js:1' }), {
    code: 'FOLIO_INTERNAL',
    message: ErrorTable.FOLIO_INTERNAL.message,
  });
  assert.deepEqual(publicError({ code: 'FOLIO_UNAVAILABLE', message: 'connect ECONNREFUSED 10.0.0.7:4222' }), {
    code: 'FOLIO_UNAVAILABLE',
    message: ErrorTable.FOLIO_UNAVAILABLE.message,
  });
  assert.deepEqual(publicError({ code: 'SOMETHING_NEWER', message: 'from a later version' }), {
    code: 'FOLIO_INTERNAL',
    message: ErrorTable.FOLIO_INTERNAL.message,
  });
  assert.deepEqual(publicError({ code: 'toString', message: 'not a code' }), { code: 'FOLIO_INTERNAL', message: ErrorTable.FOLIO_INTERNAL.message });
});
