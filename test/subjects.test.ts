import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subjects, parseEventSubject, parsePageSubject } from '../shared/bus/subjects.ts';

test('a job event subject reads back as the tenant, job and kind it was built from; any other subject is null', () => {
  assert.deepEqual(parseEventSubject(Subjects.event('acme', 'job-1', 'completed')), { tenant: 'acme', jobId: 'job-1', kind: 'completed' });
  assert.deepEqual(parseEventSubject(Subjects.event('acme', 'job-1', 'progress')), { tenant: 'acme', jobId: 'job-1', kind: 'progress' });
  assert.deepEqual(
    parseEventSubject(Subjects.eventLog('acme', 'job-1', 'failed')),
    { tenant: 'acme', jobId: 'job-1', kind: 'failed' },
    'as the events stream stores it',
  );
  assert.equal(parseEventSubject(Subjects.pageDone('acme', 'job-1')), null);
  assert.equal(parseEventSubject('folio.events.acme.job-1'), null, 'no kind');
  assert.equal(parseEventSubject('folio.events.acme.job-1.completed.extra'), null, 'a token too many');
});

test('a page subject reads back as the priority, tenant and job it was built from; an unknown priority or another subject is null', () => {
  assert.deepEqual(parsePageSubject(Subjects.pageReady('interactive', 'acme', 'job-1')), { priority: 'interactive', tenant: 'acme', jobId: 'job-1' });
  assert.deepEqual(parsePageSubject(Subjects.pageReady('batch', 'b', 'j')), { priority: 'batch', tenant: 'b', jobId: 'j' });
  assert.equal(parsePageSubject('folio.page.ready.urgent.acme.job-1'), null);
  assert.equal(parsePageSubject(Subjects.jobSubmitted('acme', 'job-1')), null);
  assert.equal(parsePageSubject(Subjects.event('acme', 'job-1', 'completed')), null);
});
