// After `tsc -p tsconfig.build.json`: copy the non-TypeScript files the services read at run time.
import { cpSync } from 'node:fs';
cpSync('services/ingest/public', 'dist/services/ingest/public', { recursive: true });
