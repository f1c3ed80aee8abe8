// The groups tools/run-tests.mjs schedules by (tools/test-groups.mjs): unit files run side by side
// with nothing set up for them, so a file that starts a server or a process must never be one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ALONE, HEAVY, groupOf } from '../tools/test-groups.mjs';

const files = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/${f}`);

describe('test groups', () => {
  it('names only test files that exist in the hand-made lists (heavy, alone)', () => {
    for (const name of [...Object.keys(ALONE), ...Object.keys(HEAVY)]) assert.ok(existsSync(`test/${name}`), `${name} is listed by hand but does not exist`);
  });

  it('makes a file that starts a nats-server, the services or a process an integration file, through helpers too', () => {
    assert.equal(groupOf('test/pipeline.test.ts'), 'integration', 'imports helpers/stack.ts');
    assert.equal(groupOf('test/blob-store.test.ts'), 'integration', 'imports helpers/nats-server.ts');
    assert.equal(groupOf('test/formats-pdf.test.ts'), 'integration', 'helpers/pdf-words.ts runs pdftotext');
    assert.equal(groupOf('test/config.test.ts'), 'unit');
    assert.equal(groupOf('test/cluster.test.ts'), 'alone');
    assert.equal(groupOf('test/cpu-quality.test.ts'), 'heavy');
  });

  it('follows a group entry (shared/<group>/index.ts) to the modules that export the names taken from it', () => {
    assert.equal(groupOf('test/fixtures/groups/entry-pure.ts'), 'unit', 'Subjects: its module starts nothing, though a sibling does');
    assert.equal(groupOf('test/fixtures/groups/entry-starter.ts'), 'integration', 'startLocalNats: its module spawns nats-server');
  });

  it('leaves no unit file that names a server or process starter', () => {
    const starters = /startTestStack|startNats|startNatsCluster|startServiceProcess|startAuthNats|node:child_process/;
    // This file names them in the pattern above.
    const wrong = files.filter((f) => f !== 'test/test-groups.test.ts' && groupOf(f) === 'unit' && starters.test(readFileSync(f, 'utf8')));
    assert.deepEqual(wrong, []);
  });
});
