// ESLint (flat config), run by `npm run lint` and as the first step of `npm test` (issue 19).
//
// Type-aware (typescript-eslint with the project service: the one tsconfig.json), but only the rules
// that catch real bugs in a service built on promises and message handlers: a promise nobody awaits
// or catches, awaiting a non-promise, `return promise` inside try/catch, throwing or rejecting with a
// non-Error. Type information is most of the lint's time, so the heavier typed rules are left off:
// the `no-unsafe-*` family (any flowing out of JSON, NATS payloads and child messages; hundreds of
// hits in code that validates with zod at the edges) and no-misused-promises (a quarter of the time).
//
// The architecture, as rules (docs/architecture.md):
//   - a service does not import another service (services/all, the one-process stack, composes them);
//   - shared/ imports no service, nor the command line, the client, tools, benches or tests;
//   - services, shared/, cli/ and client/ do not import tools, benches or tests;
//   - no import cycle (type-only imports don't count: they are erased).
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const SERVICES = ['assembler', 'ingest', 'ocr', 'rasterizer'];
const NODE_GLOBALS =
  'process console Buffer URL URLSearchParams setTimeout clearTimeout setInterval clearInterval setImmediate clearImmediate queueMicrotask structuredClone fetch Request Response Headers FormData Blob AbortController AbortSignal TextEncoder TextDecoder TextDecoderStream TextEncoderStream ReadableStream WritableStream TransformStream EventTarget Event performance globalThis'.split(
    ' ',
  );

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', 'deploy/**', 'docs/**', '.data/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      // Promise.all(xs.map((x) => (cond ? x.discard() : undefined))) is fine.
      '@typescript-eslint/await-thenable': ['error', { allowMixedPromiseArrays: true }],
      '@typescript-eslint/only-throw-error': 'error',
      // Passing on an abort signal's reason (typed any) is fine.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
    },
  },
  {
    // Plain JavaScript (the runner, the bin stub, child-process entries): not in the TypeScript program.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        // Node 20's globals (the `globals` package is not a dependency).
        NODE_GLOBALS.map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    rules: {
      // `_`-prefixed names are the house way to say "unused on purpose" (handler arguments, skipped destructured fields).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `catch {}` with a comment saying why is how best-effort clean-up is written here.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // `n > 0 ? (missing += n) : (extra -= n)`
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      // The four hits strip control characters from names and model output on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read JSON answers and poke at internals: `any` there is not worth a cast each time.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mts', '.mjs', '.js', '.json', '.node'] })],
      'import-x/extensions': ['.ts', '.mts', '.mjs', '.js'],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...SERVICES.map((s) => ({
              target: `./services/${s}`,
              from: './services',
              except: [`./${s}`],
              message: `services/${s} must not import another service: share through shared/ or the bus`,
            })),
            {
              target: './shared',
              from: ['./services', './cli', './client', './tools', './bench', './test'],
              message: 'shared/ serves the services: it imports no service, nor the CLI, the client, tools, benches or tests',
            },
            {
              target: ['./services', './cli', './client'],
              from: ['./tools', './bench', './test'],
              message: 'production code does not import tools, benches or tests',
            },
          ],
        },
      ],
    },
  },
);
