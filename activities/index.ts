/** Builds every activity the Herald worker registers, from the dependencies it owns. */
import type { Knex } from 'knex';
import { createErrorActivities } from './error-activities.js';

export interface ActivityDeps {
  db: Knex;
  retryWindowMs: number;
  now?: () => Date;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createErrorActivities(deps),
  };
}

export type HeraldActivities = ReturnType<typeof createActivities>;
