/** The renderer process behind ingest's upload checks (probe.ts): pdf.js and sharp load here, never in ingest. */
import { serveCalls } from './child.ts';
import { probeSource, type SourceLimits } from './source-probe.ts';

interface ProbeRequest {
  path: string;
  mediaType: string;
  limits: SourceLimits;
}

serveCalls({ probe: (req: ProbeRequest) => probeSource(req.path, req.mediaType, req.limits) });
