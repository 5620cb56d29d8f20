/**
 * The query registry: every file in this folder but this one is a query and is listed here.
 * test/queries.test.ts checks this list against the folder and runs each query on the embedded engine.
 */
import type { QueryDefinition } from '../engine/query.ts';
import active_users_daily from './active_users_daily.ts';
import active_users_weekly from './active_users_weekly.ts';
import connect_share from './connect_share.ts';
import downloads_daily from './downloads_daily.ts';
import feature_usage from './feature_usage.ts';
import growth_weekly from './growth_weekly.ts';
import platform_share from './platform_share.ts';
import protocol_usage from './protocol_usage.ts';
import tracking_plan from './tracking_plan.ts';
import version_adoption from './version_adoption.ts';

export const queries = {
  active_users_daily,
  active_users_weekly,
  connect_share,
  downloads_daily,
  feature_usage,
  growth_weekly,
  platform_share,
  protocol_usage,
  tracking_plan,
  version_adoption,
} as const;

export type QueryId = keyof typeof queries;

export const allQueries: readonly QueryDefinition[] = Object.values(queries) as QueryDefinition[];

/** The queries over PostHog's `events` (the ones a PostHog engine can run). */
export const eventQueries: readonly QueryDefinition[] = allQueries.filter((q) => (q.reads ?? 'events') === 'events');

export function findQuery(id: string): QueryDefinition | undefined {
  return allQueries.find((q) => q.id === id);
}
