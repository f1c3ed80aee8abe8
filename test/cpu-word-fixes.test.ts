import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixAcronym, fixFromWordList, fixMisreadWords } from '../services/ocr/engines/cpu/word-fixes.ts';

describe('misread words put right (the CPU engine, English)', () => {
  it('restores the fi and fl ligatures read as a bare f', () => {
    assert.equal(fixFromWordList('Offce'), 'Office');
    assert.equal(fixFromWordList('infuenced'), 'influenced');
    assert.equal(fixFromWordList('specifcally'), 'specifically');
    assert.equal(fixFromWordList('certifcates'), 'certificates');
  });

  it('puts back h read as b, t read as f or r, e read as o or c', () => {
    assert.deepEqual(['bealth', 'wbile', 'sfudents', 'mortaliry', 'achiove', 'cducation'].map(fixFromWordList), [
      'health',
      'while',
      'students',
      'mortality',
      'achieve',
      'education',
    ]);
  });

  it('leaves words, short words, names and mixed forms as read, and a misreading with two candidates too', () => {
    for (const w of ['office', 'Nora', 'Walt', 'Paso', 'Centro', 'fom', 'iPhone', 'x86']) assert.equal(fixFromWordList(w), w);
    assert.equal(fixFromWordList('cort'), 'cort', 'cert and cott: two words one misread away');
  });

  it('reads capital I in an acronym read with i or l (EiC, ElC, PiRLS), and leaves other mixed case alone', () => {
    assert.deepEqual(['EiC', 'ElC', 'PiRLS', 'NiCS', 'FBl'].map(fixAcronym), ['EIC', 'EIC', 'PIRLS', 'NICS', 'FBI']);
    for (const w of ['PDFs', 'McCOY', 'Ill', 'il', 'IDs']) assert.equal(fixAcronym(w), w);
  });

  it('leaves pieces of words alone: letters against a bracket or an apostrophe', () => {
    assert.deepEqual(fixMisreadWords(['“[a]ccess to care', 'the bealth’s']), ['“[a]ccess to care', 'the bealth’s']);
  });

  it('takes a word the page repeats as printed, and fixes acronyms wherever they are', () => {
    assert.deepEqual(fixMisreadWords(['the rape of the tape', 'rape in 2011 (EiC).', 'the Offce of EiC']), [
      'the rape of the tape',
      'rape in 2011 (EIC).',
      'the Office of EIC',
    ]);
  });
});
