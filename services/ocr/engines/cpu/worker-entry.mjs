// Worker threads do not get tsx's loader in time for a .ts entry file, even with
// `--import tsx` in execArgv (ERR_UNKNOWN_FILE_EXTENSION on Node 20): register it here first.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
