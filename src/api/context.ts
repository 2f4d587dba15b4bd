// What every route plugin receives: the library surface, the limits in force, the metrics to update
// and the registry of SSE clients.

import type { Limits } from '../core/limits.js';
import type { StrataDb } from '../core/strata-api.js';
import type { StrataMetrics } from './metrics.js';
import type { SseClients } from './sse-clients.js';

export interface ApiContext {
  db: StrataDb;
  limits: Limits;
  metrics: StrataMetrics;
  /** Shared by every SSE route, so the client limit counts all streams of the process. */
  sseClients: SseClients;
}
