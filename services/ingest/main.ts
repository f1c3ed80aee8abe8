import { runService } from '../../shared/operations/index.ts';
import { startIngest } from './service.ts';

await runService('ingest', startIngest, { ownMetricsPort: false });
