import { runService } from '../../shared/operations/index.ts';
import { startAssembler } from './service.ts';

await runService('assembler', startAssembler, { ownMetricsPort: true });
