import { runService } from '../../shared/runtime.ts';
import { startRasterizer } from './service.ts';

await runService('rasterizer', startRasterizer, { ownMetricsPort: true });
