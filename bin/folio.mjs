#!/usr/bin/env node
// The `folio` command (package.json "bin"): runs cli/main.ts through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
