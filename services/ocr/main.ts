import { runService } from '../../shared/runtime.ts';
import { startOcr } from './service.ts';

await runService('ocr', startOcr, { ownMetricsPort: true });
