/**
 * The scheduled jobs as declarations: an id, a cron schedule, a timezone, and a function of the time
 * the run was scheduled for. Each computes its period from `scheduledFor`, never from the clock, so
 * a run caught up after an outage (or retried) reports the same period it would have on time.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import type { AppConfig } from '../config/config.ts';
import type { Catalog } from '../config/catalog.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { parseWeek, toInstant, type Week } from '../reports/period.ts';
import type { JobDefinition } from '../scheduler/scheduler.ts';
import { runWeeklyReport } from './run-report.ts';
import { openSource } from '../sources/open-source.ts';
import { runQuery } from '../engine/run-query.ts';
import { queries } from '../queries/index.ts';
import { standardParams } from './weekly-report.ts';
import { loadTrackingPlan } from '../config/tracking-plan.ts';
import { buildTrackingPlan, PRIVACY_VIOLATIONS, type TrackingPlanRow } from '../reports/tracking-plan.ts';
import { checkDays, evaluateDailyCheck, type Alert } from './daily-check.ts';
import { ALERT_EVENT_TYPE, deliverDigest } from '../sinks/slack.ts';
import { escapeMrkdwn } from '../render/slack.ts';
import type { RunFailure } from '../scheduler/scheduler.ts';
import type { SinkSetting } from '../sinks/publish.ts';

export interface JobDeps {
  config: AppConfig;
  catalog: Catalog;
  /** For the report's "generated at" and the query cache's notion of a closed period; never for the period. */
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch | undefined;
  /** Source as for `report`: default PostHog when configured, else files (`events`). */
  source?: string | undefined;
  events?: string[] | undefined;
  /** Sinks of the weekly digest; default the configured ones. */
  sinks?: readonly SinkSetting[] | undefined;
  /** Reports are written under here (one folder per week). Default <dataDir>/reports. */
  outRoot?: string | undefined;
}

/** The week a weekly-digest run scheduled at `scheduledFor` reports: the last complete ISO week before it. */
export function digestWeek(scheduledFor: Date, timezone: string): Week {
  return parseWeek('last', timezone, scheduledFor);
}

export function weeklyDigestJob(deps: JobDeps): JobDefinition {
  const { config } = deps;
  return {
    id: 'weekly-digest',
    description: 'the weekly report of the last complete ISO week, to the configured sinks',
    schedule: config.jobs.weeklyDigest.schedule,
    timezone: config.timezone,
    scheduleSetting: 'jobs.weeklyDigest.schedule (CONNECT_METRICS_WEEKLY_DIGEST_SCHEDULE)',
    async run(ctx) {
      const week = digestWeek(ctx.scheduledFor, config.timezone);
      const result = await runWeeklyReport({
        config: deps.config,
        catalog: deps.catalog,
        week,
        source: deps.source,
        events: deps.events,
        outDir: join(deps.outRoot ?? join(config.dataDir, 'reports'), week.label),
        sinks: deps.sinks,
        // The text preview is for people at a terminal; a service has no one reading its stdout.
        io: { stdout: () => {}, clock: deps.clock, fetch: deps.fetch },
        logger: ctx.logger,
      });
      return result.reportId;
    },
  };
}

export function dailyCheckJob(deps: JobDeps): JobDefinition {
  const { config } = deps;
  const settings = config.jobs.dailyCheck;
  return {
    id: 'daily-check',
    description: "yesterday's DAU against the same weekday's median, whether events still arrive, and values that may not be anonymized (tracking plan); alerts to Slack",
    schedule: settings.schedule,
    timezone: config.timezone,
    scheduleSetting: 'jobs.dailyCheck.schedule (CONNECT_METRICS_DAILY_CHECK_SCHEDULE)',
    async run(ctx) {
      const tz = config.timezone;
      const days = checkDays(ctx.scheduledFor, tz, settings.weeks);
      const plan = await loadTrackingPlan(config.trackingPlanPath);
      const source = await openSource({ config, source: deps.source, events: deps.events, logger: ctx.logger, now: () => deps.clock.now(), fetch: deps.fetch });
      let dauRows: Array<{ day: string; active_users: number }>;
      let planRows: TrackingPlanRow[];
      try {
        const base = standardParams({ catalog: deps.catalog, eventPrefix: config.eventPrefix, plan }, { from: toInstant(days.from), to: toInstant(days.to) }, tz);
        dauRows = await runQuery(source.engine, queries.active_users_daily, base, { signal: ctx.signal });
        // The 24 hours before the run, checked against the tracking plan (no look-back: from = check_from).
        // Its event counts are also the ingestion check's, so the check stays two requests; and runs a day
        // apart check windows that tile time, so every event is checked once.
        const at = DateTime.fromJSDate(ctx.scheduledFor, { zone: 'UTC' });
        const window = { from: toInstant(at.minus({ hours: 24 })), check_from: toInstant(at.minus({ hours: 24 })), to: toInstant(at) };
        planRows = await runQuery(source.engine, queries.tracking_plan, { ...base, ...window }, { signal: ctx.signal });
      } finally {
        source.close();
      }
      const checked = buildTrackingPlan(planRows, plan);
      const alerts = evaluateDailyCheck({
        scheduledFor: ctx.scheduledFor,
        timezone: tz,
        prefix: config.eventPrefix,
        dauByDay: new Map(dauRows.map((r) => [r.day, Number(r.active_users)])),
        eventsLast24h: planRows.filter((r) => r.kind === 'event').reduce((s, r) => s + r.events, 0),
        threshold: settings.threshold,
        weeks: settings.weeks,
        privacyProblems: checked.problems.filter((p) => PRIVACY_VIOLATIONS.includes(p.violation)),
        privacyEvents: { not_anonymized: checked.totals.violations.not_anonymized, bad_distinct_id: checked.totals.violations.bad_distinct_id },
      });
      if (!alerts.length) return `no alert for ${days.yesterday}`;
      await deliverAlerts(alerts, deps, ctx.logger);
      return `alerts ${alerts.map((a) => a.id).join(', ')}`;
    },
  };
}

/** Posts each alert once: the Slack history is read for the alert's id first (as for the digest). */
export async function deliverAlerts(alerts: Alert[], deps: Pick<JobDeps, 'config'>, logger: Logger): Promise<void> {
  const { token, channel, apiUrl } = deps.config.slack;
  for (const alert of alerts) {
    if (!token || !channel) {
      logger.warn(`alert (Slack is not configured, so only logged): ${alert.text}`, { alert: alert.id });
      continue;
    }
    await deliverDigest({ text: alert.text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: alert.text } }] }, alert.id, [], {
      token,
      channel,
      apiUrl,
      eventType: ALERT_EVENT_TYPE,
      // The alert cannot have been posted before the day it is about ended.
      notBefore: DateTime.fromISO(alert.day, { zone: deps.config.timezone }).plus({ days: 1 }).toJSDate(),
      logger,
    });
  }
}

/**
 * Tells the channel when a scheduled run has failed its last attempt, once per run (message
 * metadata `connect_metrics_alert`, id `run-failed/<job>/<scheduled time>`, checked before posting
 * like every alert). Without Slack configured it does nothing: the log, /metrics and `status` say it.
 */
export function runFailureNotifier(deps: Pick<JobDeps, 'config' | 'logger'>): ((failure: RunFailure) => Promise<void>) | undefined {
  const { token, channel, apiUrl } = deps.config.slack;
  if (!token || !channel) return undefined;
  return async (failure) => {
    const when = DateTime.fromJSDate(failure.scheduledFor, { zone: deps.config.timezone }).toFormat("ccc yyyy-MM-dd HH:mm ZZZZ");
    const text =
      `:x: connect-metrics: the ${failure.jobId} run of ${when} failed ${failure.attempts} times and was given up. ` +
      `Last error: ${failure.error.slice(0, 500)}. Run \`connect-metrics status\` for details; it is retried at the next start or by \`serve --run-now ${failure.jobId}\`.`;
    const safe = escapeMrkdwn(text);
    await deliverDigest({ text: safe, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: safe } }] }, `run-failed/${failure.jobId}/${failure.scheduledFor.toISOString()}`, [], {
      token,
      channel,
      apiUrl,
      eventType: ALERT_EVENT_TYPE,
      notBefore: failure.scheduledFor,
      logger: deps.logger,
    });
  };
}

export function scheduledJobs(deps: JobDeps): JobDefinition[] {
  return [
    ...(deps.config.jobs.weeklyDigest.enabled ? [weeklyDigestJob(deps)] : []),
    ...(deps.config.jobs.dailyCheck.enabled ? [dailyCheckJob(deps)] : []),
  ];
}
