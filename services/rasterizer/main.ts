import { runService } from '../../shared/operations/index.ts';
import { startRasterizer } from './service.ts';

await runService('rasterizer', startRasterizer, { ownMetricsPort: true });
