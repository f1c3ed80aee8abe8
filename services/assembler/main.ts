import { loadConfig } from '../../shared/config.ts';
import { serveMetrics } from '../../shared/metrics.ts';
import { createRuntime, stopOnSignals } from '../../shared/runtime.ts';
import { startAssembler } from './service.ts';

const config = loadConfig();
if (!config.NATS_URL) throw new Error('NATS_URL is required when the assembler runs alone (npm start runs everything with a local nats-server)');
const rt = await createRuntime(config, 'assembler', config.NATS_URL);
// /readyz: a NATS round trip (issue 11: Kubernetes and compose probes).
if (config.FOLIO_METRICS_PORT) await serveMetrics(rt.metrics, config.FOLIO_METRICS_PORT, '0.0.0.0', () => rt.bus.nc.flush());
stopOnSignals(rt.log, [startAssembler(rt)], rt.bus);
rt.log.info('assembler started');
