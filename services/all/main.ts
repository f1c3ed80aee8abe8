import { loadConfigOrExit } from '../../shared/config.ts';
import { stopOnSignals } from '../../shared/runtime.ts';
import { startStack } from './stack.ts';

const config = loadConfigOrExit();
const stack = await startStack(config);
stopOnSignals(stack.rt.log, [stack]);
stack.rt.log.info({ url: stack.url, nats: stack.natsUrl, engine: config.ocr.engine, blobs: stack.rt.blobs.kind }, `Folio listening on ${stack.url}`);
