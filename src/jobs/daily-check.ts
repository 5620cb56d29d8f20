/**
 * The daily check: yesterday's DAU against the median of the same weekday over the trailing weeks,
 * and whether any connect.* event arrived in the 24 hours before the run. Pure evaluation here; the
 * job (src/jobs/scheduled.ts) runs the queries and delivers the alerts.
 */
import { DateTime } from 'luxon';
import { escapeMrkdwn } from '../render/slack.ts';

export type AlertKind = 'dau' | 'ingestion' | 'not_anonymized' | 'bad_distinct_id';

export interface Alert {
  /** `<day>/<kind>/<timezone>`: one alert per day and kind, whatever the number of runs. */
  id: string;
  kind: AlertKind;
  /** The day checked (yesterday of the run), YYYY-MM-DD in the timezone. */
  day: string;
  text: string;
  value?: number;
  median?: number;
  change?: number;
}

export interface DailyCheckInput {
  /** The run's scheduled instant. */
  scheduledFor: Date;
  timezone: string;
  prefix: string;
  /** Active installations per local day, for the days checked (missing days count as 0). */
  dauByDay: ReadonlyMap<string, number>;
  /** connect.* events with a timestamp in the 24 hours before scheduledFor. */
  eventsLast24h: number;
  threshold: number;
  weeks: number;
  /**
   * Tracking-plan violations of the events in the 24 hours before the run that may mean a value was
   * not anonymized (kinds not_anonymized and bad_distinct_id, per event and property, with one
   * example uuid); absent: not checked.
   */
  privacyProblems?: ReadonlyArray<{ event: string; violation: string; property: string; count: number; example: string }> | undefined;
  /** Events with at least one violation of each kind (one event with two raw names counts once). */
  privacyEvents?: Readonly<Partial<Record<'not_anonymized' | 'bad_distinct_id', number>>> | undefined;
}

/** The days the check reads: yesterday and the same weekday in each of the `weeks` before. */
export function checkDays(scheduledFor: Date, timezone: string, weeks: number): { yesterday: string; baseline: string[]; from: DateTime; to: DateTime } {
  const today = DateTime.fromJSDate(scheduledFor, { zone: timezone }).startOf('day');
  const y = today.minus({ days: 1 });
  const baseline = Array.from({ length: weeks }, (_, i) => y.minus({ weeks: i + 1 }).toISODate()!);
  return { yesterday: y.toISODate()!, baseline, from: y.minus({ weeks }), to: today };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const codeSpan = (text: string) => `\`${escapeMrkdwn(text.replace(/`/g, "'"))}\``;

export function evaluateDailyCheck(input: DailyCheckInput): Alert[] {
  const { yesterday, baseline } = checkDays(input.scheduledFor, input.timezone, input.weeks);
  const alerts: Alert[] = [];
  const weekday = DateTime.fromISO(yesterday, { zone: input.timezone }).toFormat('cccc');
  const value = input.dauByDay.get(yesterday) ?? 0;
  const m = median(baseline.map((d) => input.dauByDay.get(d) ?? 0));
  if (m > 0) {
    const change = (value - m) / m;
    if (Math.abs(change) > input.threshold) {
      const pct = Math.round(Math.abs(change) * 100);
      alerts.push({
        id: `${yesterday}/dau/${input.timezone}`,
        kind: 'dau',
        day: yesterday,
        value,
        median: m,
        change,
        text: `${change < 0 ? ':chart_with_downwards_trend:' : ':chart_with_upwards_trend:'} Teleport Connect DAU on ${weekday} ${yesterday} was ${value}, ${pct}% ${change < 0 ? 'below' : 'above'} the median of the ${input.weeks} ${weekday}s before (${m}).`,
      });
    }
  }
  if (input.eventsLast24h === 0) {
    const at = DateTime.fromJSDate(input.scheduledFor, { zone: input.timezone }).toFormat('yyyy-MM-dd HH:mm');
    alerts.push({
      id: `${yesterday}/ingestion/${input.timezone}`,
      kind: 'ingestion',
      day: yesterday,
      text: `:rotating_light: No ${input.prefix}* event arrived in the 24 hours to ${at} ${input.timezone}: PostHog ingestion (or the app's telemetry) may be broken.`,
    });
  }
  const at = DateTime.fromJSDate(input.scheduledFor, { zone: input.timezone }).toFormat('yyyy-MM-dd HH:mm');
  // One alert per day and kind, naming where to look (event, property, count, an example uuid), never the value.
  for (const kind of ['not_anonymized', 'bad_distinct_id'] as const) {
    const found = (input.privacyProblems ?? []).filter((p) => p.violation === kind && p.count > 0);
    if (!found.length) continue;
    const total = input.privacyEvents?.[kind] ?? found.reduce((s, p) => s + p.count, 0);
    const where = found
      .slice(0, 5)
      // Names come from event data: in code spans, escaped as Slack documents (no mention or link can form).
      .map((p) => `${p.count} ${codeSpan(p.event)}${kind === 'not_anonymized' ? ` with ${codeSpan(p.property)}` : ''} (e.g. event ${codeSpan(p.example)})`)
      .join(', ');
    const what =
      kind === 'not_anonymized'
        ? 'carried a value that is not an HMAC where the tracking plan wants an anonymized one (a cluster or user name may have leaked)'
        : 'had a distinct_id that is not connect. + a UUID (it may identify a person)';
    alerts.push({
      id: `${yesterday}/${kind}/${input.timezone}`,
      kind,
      day: yesterday,
      value: total,
      text: `:lock: ${total} ${input.prefix}* event${total === 1 ? '' : 's'} in the 24 hours to ${at} ${input.timezone} ${what}: ${where}${found.length > 5 ? `, and ${found.length - 5} more` : ''}. See the tracking plan section of the weekly report.`,
    });
  }
  return alerts;
}
