// Process roles (`--role` / STRATA_ROLE) and what each one does; docs/ARCHITECTURE.md ("Kafka mode and
// roles") gives the reasoning. Every role folds the log into its own RocksDB: reads need local state.

export const ROLES = ['all', 'api', 'materializer'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleDuties {
  /** Serves the public HTTP API (publish, reads, subscriptions); otherwise only /healthz, /readyz, /metrics. */
  publicApi: boolean;
  /** Produces derived topics (`<prefix>.<graph>.changes`, `.view.<name>`): one such process per deployment, or duplicates. */
  derivedTopics: boolean;
}

const DUTIES: Readonly<Record<Role, RoleDuties>> = {
  all: { publicApi: true, derivedTopics: true },
  // Read (and write) scaling: any number of these; they fold for their own reads and produce nothing.
  api: { publicApi: true, derivedTopics: false },
  // The single producer of derived topics, kept away from client traffic.
  materializer: { publicApi: false, derivedTopics: true },
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function roleDuties(role: Role): RoleDuties {
  return DUTIES[role];
}
