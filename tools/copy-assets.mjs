// After `tsc -p tsconfig.build.json`: copy the non-TypeScript files the services read at run time.
import { cpSync } from 'node:fs';
cpSync('services/ingest/public', 'dist/services/ingest/public', { recursive: true });
// The page's SSE parser, served from the client package as it is (services/ingest/routes/ops.ts).
cpSync('client/sse.js', 'dist/client/sse.js');
