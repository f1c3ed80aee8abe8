import { runService } from '../../shared/runtime.ts';
import { startIngest } from './service.ts';

await runService('ingest', startIngest, { ownMetricsPort: false });
