/**
 * Highlights: what changed, in words, computed from the report's own figures (never text about
 * numbers that were not checked). A change is called a rise or a fall only when it is not noise on
 * small counts: both weeks have at least MIN_USERS installations and the change is at least
 * MIN_CHANGE (10%); otherwise the highlight says the figure held steady, or that the counts are too
 * small to call a trend.
 */
import type { Figure, WeeklyReport } from './weekly-report.ts';
import { isSmall, smallLabel } from './privacy.ts';

export const MIN_USERS = 20;
export const MIN_CHANGE = 0.1;

export type Direction = 'up' | 'down' | 'steady' | 'too-few';

export interface Highlight {
  /** What the highlight is about, e.g. `wau`, `feature:file_transfer`. */
  subject: string;
  direction: Direction;
  /** value / previous - 1, null when previous is 0 */
  change: number | null;
  text: string;
}

/** The rule, in one place: a trend needs both weeks >= MIN_USERS and |change| >= MIN_CHANGE. */
export function directionOf(value: number, previous: number, usersNow: number, usersBefore: number): Direction {
  if (usersNow < MIN_USERS || usersBefore < MIN_USERS) return 'too-few';
  if (previous === 0) return 'up';
  const change = value / previous - 1;
  if (Math.abs(change) < MIN_CHANGE) return 'steady';
  return change > 0 ? 'up' : 'down';
}

const pct = (x: number) => `${Math.round(Math.abs(x) * 100)}%`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function figureText(label: string, f: Figure, d: Direction, format: (n: number) => string): string {
  const span = `${format(f.previous)} → ${format(f.value)}`;
  switch (d) {
    case 'up':
      return `${label} rose ${f.change === null ? '' : `${pct(f.change)} `}(${span}).`;
    case 'down':
      return `${label} fell ${pct(f.change ?? 0)} (${span}).`;
    case 'steady':
      return `${label} held steady (${span}, ${f.change !== null && f.change >= 0 ? '+' : '−'}${pct(f.change ?? 0)}).`;
    default:
      return `${label}: ${span}; too few installations to call a trend (under ${MIN_USERS} in a week).`;
  }
}

interface Row {
  name: string;
  users: number;
  previousUsers: number;
}

/** The row whose users changed most (absolute), among the changes that pass the trend rule. */
function movedMost(rows: Row[]): (Row & { change: number | null; direction: Direction }) | undefined {
  const candidates = rows
    .map((r) => ({ ...r, direction: directionOf(r.users, r.previousUsers, r.users, r.previousUsers), change: r.previousUsers === 0 ? null : r.users / r.previousUsers - 1 }))
    .filter((r) => r.direction === 'up' || r.direction === 'down');
  candidates.sort((a, b) => Math.abs(b.users - b.previousUsers) - Math.abs(a.users - a.previousUsers) || (a.name < b.name ? -1 : 1));
  return candidates[0];
}

export function weeklyHighlights(report: WeeklyReport): Highlight[] {
  const s = report.summary;
  const out: Highlight[] = [];
  if (!report.comparison.comparable) {
    // No highlight compares two weeks when either is not fully covered (src/reports/coverage.ts).
    out.push({ subject: 'comparison', direction: 'too-few', change: null, text: `No week-over-week change is called: ${report.comparison.reason}.` });
    out.push(...historyHighlights(report));
    return out;
  }
  const wauDir = directionOf(s.wau.value, s.wau.previous, s.wau.value, s.wau.previous);
  out.push({ subject: 'wau', direction: wauDir, change: s.wau.change, text: figureText('Weekly active installations', s.wau, wauDir, int) });
  const dauDir = directionOf(s.avg_dau.value, s.avg_dau.previous, s.wau.value, s.wau.previous);
  out.push({ subject: 'avg_dau', direction: dauDir, change: s.avg_dau.change, text: figureText('Average daily active installations', s.avg_dau, dauDir, (n) => n.toFixed(1)) });
  const stDir = directionOf(s.stickiness.value, s.stickiness.previous, s.wau.value, s.wau.previous);
  out.push({ subject: 'stickiness', direction: stDir, change: s.stickiness.change, text: figureText('Stickiness', s.stickiness, stDir, (n) => `${(n * 100).toFixed(0)}%`) });

  const k = report.privacy.k;
  const moved = (kind: string, label: string, rows: Row[]) => {
    // A cell under the privacy threshold is never named, whatever k is configured to.
    const m = movedMost(rows.filter((r) => !isSmall(r.users, k) && !isSmall(r.previousUsers, k)));
    if (!m) return;
    const verb = m.direction === 'up' ? 'grew most' : 'shrank most';
    out.push({
      subject: `${kind}:${m.name}`,
      direction: m.direction,
      change: m.change,
      // The name comes from event data: in a code span (no formatting, no auto-link in Slack).
      text: `${label} that ${verb}: \`${m.name.replace(/`/g, "'")}\`, ${int(m.previousUsers)} → ${int(m.users)} installations${m.change === null ? '' : ` (${m.change > 0 ? '+' : '−'}${pct(m.change)})`}.`,
    });
  };
  moved('feature', 'Feature', report.features.map((f) => ({ name: f.feature, users: f.users, previousUsers: f.previous.users })));
  moved('protocol', 'Protocol', report.protocols.map((p) => ({ name: p.protocol, users: p.users, previousUsers: p.previous.users })));
  moved('platform', 'Platform', report.platforms.map((p) => ({ name: p.os, users: p.users, previousUsers: p.previous.users })));
  out.push(...historyHighlights(report));
  return out;
}

/** The 12-week trend and the new events. */
function historyHighlights(report: WeeklyReport): Highlight[] {
  const out: Highlight[] = [];
  const k = report.privacy.k;
  if (!report.historyCovered) {
    out.push({ subject: 'history', direction: 'too-few', change: null, text: 'The data covers less than 12 weeks: no 12-week trend and no "new event" is called.' });
    return out;
  }
  const first = report.trend[0];
  const last = report.trend.at(-1);
  // A partly covered week is not a point of a trend: its ends must both be fully covered.
  const uncovered = [first, last].filter((t) => t && !t.covered).map((t) => t!.week);
  if (first && last && report.trend.length >= 12 && uncovered.length) {
    out.push({
      subject: 'trend',
      direction: 'too-few',
      change: null,
      text: `No 12-week trend is called: the week of ${[...new Set(uncovered)].join(' and the week of ')} is not fully covered by the data.`,
    });
  } else if (first && last && report.trend.length >= 12) {
    const d = directionOf(last.wau, first.wau, last.wau, first.wau);
    const change = first.wau === 0 ? null : last.wau / first.wau - 1;
    const span = `${int(first.wau)} in the week of ${first.week} → ${int(last.wau)}`;
    const text =
      d === 'up' || d === 'down'
        ? `Over 12 weeks, weekly active installations ${d === 'up' ? 'rose' : 'fell'} ${change === null ? '' : `${pct(change)} `}(${span}).`
        : d === 'steady'
          ? `Over 12 weeks, weekly active installations held steady (${span}).`
          : `Over 12 weeks: ${span}; too few installations to call a trend.`;
    out.push({ subject: 'trend', direction: d, change, text });
  }
  if (report.newEvents.length) {
    const names = report.newEvents.map((e) => `\`${e.event.replace(/`/g, "'")}\` (${isSmall(e.users, k) ? smallLabel(k) : int(e.users)} installations)`);
    out.push({ subject: 'new-events', direction: 'up', change: null, text: `New this week, never seen in the 12 weeks before: ${names.join(', ')}.` });
  }
  return out;
}
