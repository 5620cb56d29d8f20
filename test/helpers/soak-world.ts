/**
 * A small, fully known world for scheduler tests: a PostHog stand-in holding a few installations a
 * day over two years (with a DAU dip, a spike and a two-day ingestion gap), the Slack stand-in, and
 * the config that points the production code at both. Expected digests and alerts are computed
 * here from the day table, independently of the code under test.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { loadConfig, type AppConfig } from '../../src/config/config.ts';
import { DEFAULT_CATALOG } from '../../src/config/config.ts';
import { loadCatalog, type Catalog } from '../../src/config/catalog.ts';
import { startPostHogStandIn, type StandIn } from '../standins/posthog/index.ts';
import { startSlackStandIn, type SlackStandIn } from '../standins/slack/index.ts';
import { tempDir, writeExport, type TestEvent } from './fixtures.ts';

export const ZONE = 'Europe/Berlin';
export const DATA_FROM = '2023-10-01';
export const DATA_TO = '2026-02-01';

/** Installations active on a local day: 5, except the days below. */
export const SPECIAL_DAYS: Record<string, number> = {
  '2024-06-11': 1, // a dip: -80 %
  '2024-09-04': 9, // a spike: +80 %
  '2025-02-15': 0, // ingestion gap, two days
  '2025-02-16': 0,
};

export function usersOn(day: string): number {
  return SPECIAL_DAYS[day] ?? 5;
}

export function worldEvents(): TestEvent[] {
  const events: TestEvent[] = [];
  for (let d = DateTime.fromISO(DATA_FROM, { zone: ZONE }); d < DateTime.fromISO(DATA_TO, { zone: ZONE }); d = d.plus({ days: 1 })) {
    const day = d.toISODate()!;
    for (let u = 1; u <= usersOn(day); u++) {
      events.push({
        event: 'connect.cluster.login',
        // As Connect sends it (connect. + a UUID): anything else is a tracking-plan privacy alert.
        distinct_id: `connect.00000000-0000-4000-8000-${String(u).padStart(12, '0')}`,
        timestamp: d.set({ hour: 10, minute: u }).toUTC().toISO()!,
        properties: { 'connect.os': u % 2 ? 'darwin' : 'win32', 'connect.version': '18.1.0' },
      });
    }
  }
  return events;
}

export interface World {
  dir: string;
  posthog: StandIn;
  slack: SlackStandIn;
  config: AppConfig;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function startWorld(extraEnv: Record<string, string> = {}): Promise<World> {
  const dir = await tempDir('cm-world-');
  const file = await writeExport(join(dir, 'events', 'events.jsonl'), worldEvents());
  const posthog = await startPostHogStandIn({ eventsPaths: [file], ratePerMinute: 1_000_000, ratePerHour: 1_000_000, maxConcurrent: 8 });
  // Slack processes these uploads at once here (it can): the soak is about the schedule, and test/
  // slack-behaviour.test.ts covers the wait for processing, without 100 real waits.
  const slack = await startSlackStandIn({ processingInfoCalls: 0 });
  const config = await loadConfig({
    timezone: ZONE,
    dataDir: join(dir, 'data'),
    env: {
      POSTHOG_HOST: posthog.url,
      POSTHOG_PROJECT_ID: String(posthog.projectId),
      POSTHOG_API_KEY: posthog.apiKey,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_CHANNEL_ID: slack.channel,
      SLACK_API_URL: slack.apiUrl,
      ...extraEnv,
    },
  });
  config.sinks = ['slack'];
  const catalog = await loadCatalog(DEFAULT_CATALOG);
  return {
    dir,
    posthog,
    slack,
    config,
    catalog,
    async close() {
      await slack.close();
      await posthog.close();
    },
  };
}

/** Report ids of the digests due for Mondays 09:00 local in (from, to]: the week before each. */
export function expectedDigests(from: Date, to: Date): string[] {
  const out: string[] = [];
  let monday = DateTime.fromJSDate(from, { zone: ZONE }).startOf('week');
  for (; monday.set({ hour: 9 }).toJSDate() <= to; monday = monday.plus({ weeks: 1 })) {
    const at = monday.set({ hour: 9 });
    if (at.toJSDate() <= from) continue;
    const week = monday.minus({ weeks: 1 });
    out.push(`${week.weekYear}-W${String(week.weekNumber).padStart(2, '0')}/${ZONE}/posthog`);
  }
  return out;
}

/** Alert ids due for daily checks at 08:00 local in (from, to], with threshold 0.3 over 4 weeks. */
export function expectedAlerts(from: Date, to: Date, threshold = 0.3, weeks = 4): string[] {
  const out: string[] = [];
  let day = DateTime.fromJSDate(from, { zone: ZONE }).startOf('day');
  for (; day.set({ hour: 8 }).toJSDate() <= to; day = day.plus({ days: 1 })) {
    if (day.set({ hour: 8 }).toJSDate() <= from) continue;
    const y = day.minus({ days: 1 });
    const value = usersOn(y.toISODate()!);
    const base = Array.from({ length: weeks }, (_, i) => usersOn(y.minus({ weeks: i + 1 }).toISODate()!)).sort((a, b) => a - b);
    const m = weeks % 2 ? base[(weeks - 1) / 2]! : (base[weeks / 2 - 1]! + base[weeks / 2]!) / 2;
    if (m > 0 && Math.abs(value - m) / m > threshold) out.push(`${y.toISODate()}/dau/${ZONE}`);
    // Events are at 10:00 local: the 24 hours to 08:00 hold yesterday's.
    if (value === 0) out.push(`${y.toISODate()}/ingestion/${ZONE}`);
  }
  return out;
}
