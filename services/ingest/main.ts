import { loadConfig } from '../../shared/config.ts';
import { createRuntime, stopOnSignals } from '../../shared/runtime.ts';
import { startIngest } from './service.ts';

const config = loadConfig();
if (!config.NATS_URL) throw new Error('NATS_URL is required when ingest runs alone (npm start runs everything with a local nats-server)');
const rt = await createRuntime(config, 'ingest', config.NATS_URL);
const ingest = await startIngest(rt).catch((err: Error) => {
  // A refused configuration (e.g. open on the network) is a message for the operator, not a stack trace.
  rt.log.fatal(err.message);
  process.exit(1);
});
stopOnSignals(rt.log, [ingest], rt.bus);
rt.log.info({ url: ingest.url }, 'ingest listening');
