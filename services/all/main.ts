import { loadConfigOrExit } from '../../shared/config/index.ts';
import { stopOnSignals } from '../../shared/operations/index.ts';
import { startStack } from './stack.ts';

const config = loadConfigOrExit();
const stack = await startStack(config);
stopOnSignals(stack.rt.log, [stack]);
stack.rt.log.info({ url: stack.url, nats: stack.natsUrl, engine: config.ocr.engine, blobs: stack.rt.blobs.kind }, `Folio listening on ${stack.url}`);
