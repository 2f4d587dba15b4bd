// What every route plugin receives: the library surface, the limits in force and the metrics to update.

import type { Limits } from '../core/limits.js';
import type { StrataDb } from '../core/strata-api.js';
import type { StrataMetrics } from './metrics.js';

export interface ApiContext {
  db: StrataDb;
  limits: Limits;
  metrics: StrataMetrics;
}
