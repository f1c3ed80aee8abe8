#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (Node 20 has no --test globs), in the
// groups of tools/test-groups.mjs: unit files side by side; then integration files (each starts its
// own nats-server on a free port with its own store) and the CPU-engine files together, as many as
// fill the cores (an integration file mostly waits on its servers, a CPU-engine file keeps both
// cores busy, so it counts as several); then the files that must run alone, one at a time with
// nothing else running.
//
//   node tools/run-tests.mjs                 the linter (npm run lint), then everything (npm test)
//   node tools/run-tests.mjs --unit          the unit files only (npm run test:unit)
//   node tools/run-tests.mjs <substring>...  the files whose path contains one of the substrings
//   node tools/run-tests.mjs --list          print the groups and exit
//   --no-lint                                skip the linter (it runs only when no --unit and no filter is given)
//   --jobs=<n>                               at most n files side by side (1: everything in series;
//                                            a flag, not FOLIO_*: tests hand process.env to the CLI,
//                                            which refuses unknown FOLIO_* names)
//
// Each file's output is printed whole when the file ends, so side-by-side files don't interleave.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { groupOf } from './test-groups.mjs';

const ORDER = ['unit', 'integration', 'heavy', 'alone'];
/** The groups scheduled as one pool, in order: a later group's files join the earlier group's pool. */
const POOLS = [['unit'], ['integration', 'heavy'], ['alone']];

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const filter = args.filter((a) => !a.startsWith('--'));
const jobs = Number(args.find((a) => a.startsWith('--jobs='))?.slice('--jobs='.length)) || 0;
// For the 2-core machine: unit files are mostly start-up (tsx), so two at a time keep both cores
// busy. An integration file uses about 40% of a core on average (CPU-seconds over wall seconds,
// measured per file), waiting on servers and processes the rest; a CPU-engine file about 1.7 cores.
// So the middle pool holds files of weight up to 5: five integration files, or one CPU-engine file
// (weight 3) and two integration files. --jobs=n makes every file weigh 1 and the capacity n.
const CAPACITY = { unit: jobs || 2, integration: jobs || 5, alone: 1 };
const WEIGHT = { unit: 1, integration: 1, heavy: jobs ? 1 : 3, alone: 1 };
const unknown = [...flags].filter((f) => !['--unit', '--list', '--no-lint'].includes(f) && !/^--jobs=\d+$/.test(f));
if (unknown.length > 0) {
  console.error(`unknown option(s): ${unknown.join(' ')} (--unit, --list, --no-lint, --jobs=<n>)`);
  process.exit(2);
}
const files = walk('test')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const groups = Object.fromEntries(ORDER.map((g) => [g, []]));
for (const f of files) groups[groupOf(f)].push(f);
if (flags.has('--unit')) for (const g of ORDER) if (g !== 'unit') groups[g] = [];

if (flags.has('--list')) {
  for (const g of ORDER) console.log(`${g} (${groups[g].length}): ${groups[g].join(' ')}`);
  process.exit(0);
}

// The whole suite starts with the linter (issue 19): eslint and prettier --check side by side (one
// core each), each output printed whole when it ends; either failing fails the run before any test.
if (!flags.has('--unit') && !flags.has('--no-lint') && filter.length === 0) {
  const started = Date.now();
  console.log('═══ lint: eslint, prettier --check');
  const tool = (name, argv) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks = [];
      child.stdout.on('data', (c) => chunks.push(c));
      child.stderr.on('data', (c) => chunks.push(c));
      child.on('close', (code) => {
        process.stdout.write(
          `── ${name} (${((Date.now() - started) / 1000).toFixed(0)} s${code === 0 ? '' : ', FAILED'})\n${Buffer.concat(chunks).toString()}`,
        );
        resolve(code === 0);
      });
    });
  const [eslintOk, prettierOk] = await Promise.all([
    tool('eslint', ['node_modules/eslint/bin/eslint.js', 'services', 'shared', 'client', 'cli', 'tools', 'bench', 'test']),
    tool('prettier --check', ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level=warn', '.']),
  ]);
  const bad = [!eslintOk && 'eslint', !prettierOk && 'prettier --check (npm run format writes the formatting)'].filter(Boolean);
  console.log(`═══ lint: ${bad.length === 0 ? 'clean' : `FAILED: ${bad.join(', ')}`} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (bad.length > 0) process.exit(1);
}

const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
const count = (out, name) => Number(out.match(new RegExp(`^\\S* ?${name} (\\d+)$`, 'm'))?.[1] ?? 0);

/** Runs one file in its own node --test process; resolves with its counts once it has exited. */
function runFile(file) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('close', (code, signal) => {
      const out = Buffer.concat(chunks).toString();
      const r = {
        file,
        ok: code === 0,
        exit: signal ?? code,
        ms: Date.now() - started,
        tests: count(out, 'tests'),
        pass: count(out, 'pass'),
        fail: count(out, 'fail') + count(out, 'cancelled'),
        skip: count(out, 'skipped') + count(out, 'todo'),
      };
      process.stdout.write(`\n── ${file} (${(r.ms / 1000).toFixed(1)} s${r.ok ? '' : `, FAILED: exit ${r.exit}`})\n${out}`);
      resolve(r);
    });
  });
}

/**
 * Runs the files in the order given, starting each as soon as the running ones' weights leave room
 * for its own (a file heavier than the capacity runs alone). A file that does not fit waits; the
 * lighter files after it do not jump ahead, so the longest files still start first.
 */
async function pool(list, capacity, weightOf) {
  const results = [];
  let used = 0;
  let wake = () => {};
  const running = new Set();
  for (const file of list) {
    const w = Math.min(weightOf(file), capacity);
    while (used + w > capacity) await new Promise((r) => (wake = r));
    used += w;
    const run = runFile(file).then((r) => {
      results.push(r);
      used -= w;
      running.delete(run);
      wake();
    });
    running.add(run);
  }
  await Promise.all(running);
  return results;
}

const summary = [];
const all = [];
// Longest first (by the last run's times, kept out of git), so a long file doesn't start last and
// leave the other workers idle; a file with no time yet goes first.
const TIMES = 'node_modules/.cache/folio-test-times.json';
const times = (() => {
  try {
    return JSON.parse(readFileSync(TIMES, 'utf8'));
  } catch {
    return {};
  }
})();
const lastMs = (f) => times[f] ?? Infinity;
const t0 = Date.now();
for (const pooled of POOLS) {
  const list = pooled.flatMap((g) => groups[g]);
  if (list.length === 0) continue;
  const started = Date.now();
  const name = pooled.filter((g) => groups[g].length > 0).join(' + ');
  console.log(`\n═══ ${name}: ${list.length} files, weights up to ${CAPACITY[pooled[0]]} at a time`);
  const groupOfFile = new Map(pooled.flatMap((g) => groups[g].map((f) => [f, g])));
  const results = await pool(
    [...list].sort((a, b) => lastMs(b) - lastMs(a) || 0),
    CAPACITY[pooled[0]],
    (f) => WEIGHT[groupOfFile.get(f)],
  );
  all.push(...results);
  const sum = (k) => results.reduce((s, r) => s + r[k], 0);
  summary.push({
    group: name,
    files: results.length,
    tests: sum('tests'),
    pass: sum('pass'),
    fail: sum('fail'),
    skip: sum('skip'),
    failedFiles: results.filter((r) => !r.ok).length,
    s: (Date.now() - started) / 1000,
  });
}

try {
  mkdirSync('node_modules/.cache', { recursive: true });
  writeFileSync(TIMES, JSON.stringify({ ...times, ...Object.fromEntries(all.map((r) => [r.file, r.ms])) }, null, 1));
} catch {
  // Only an ordering hint.
}
const load = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');
console.log(`\n═══ summary (load average ${load}, ${os.cpus().length} cores)`);
console.log('group                files  tests   pass   fail   skip   time');
for (const s of summary) {
  console.log(
    `${s.group.padEnd(20)} ${String(s.files).padStart(5)} ${String(s.tests).padStart(6)} ${String(s.pass).padStart(6)} ${String(s.fail).padStart(6)} ${String(s.skip).padStart(6)} ${s.s.toFixed(0).padStart(5)} s`,
  );
}
console.log(`total                ${String(all.length).padStart(5)}${' '.repeat(30)} ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s`);
console.log(
  `slowest: ${[...all]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8)
    .map((r) => `${r.file.replace(/^test\//, '')} ${(r.ms / 1000).toFixed(0)} s`)
    .join(', ')}`,
);
const failed = all.filter((r) => !r.ok);
if (failed.length > 0) console.log(`FAILED: ${failed.map((r) => r.file).join(' ')}`);
process.exit(failed.length > 0 ? 1 : 0);
