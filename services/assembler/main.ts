import { runService } from '../../shared/runtime.ts';
import { startAssembler } from './service.ts';

await runService('assembler', startAssembler, { ownMetricsPort: true });
