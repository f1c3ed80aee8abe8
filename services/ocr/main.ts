import { runService } from '../../shared/operations/index.ts';
import { startOcr } from './service.ts';

await runService('ocr', startOcr, { ownMetricsPort: true });
