/**
 * Highlights from the growth section, with the same rule as every other highlight (both weeks at
 * least MIN_USERS installations and a change of at least MIN_CHANGE): new installations and
 * dormancy week over week, the newest cohort's return the week after, the newest release's adoption.
 */
import { directionOf, MIN_USERS, weeklyHighlights, type Direction, type Highlight } from './highlights.ts';
import type { GrowthSection } from './growth.ts';
import type { WeeklyReport } from './weekly-report.ts';
import type { WeekCoverage } from './coverage.ts';

const pct = (x: number) => `${Math.round(Math.abs(x) * 100)}%`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** Every highlight of a report: the weekly ones, then growth. */
export function reportHighlights(report: WeeklyReport): Highlight[] {
  return [...weeklyHighlights(report), ...(report.growth ? growthHighlights(report.growth, report.coverage) : [])];
}

function change(value: number, previous: number): number | null {
  return previous === 0 ? null : value / previous - 1;
}

function movement(label: string, value: number, previous: number, d: Direction, c: number | null): string {
  const span = `${int(previous)} → ${int(value)}`;
  switch (d) {
    case 'up':
      return `${label} up ${c === null ? '' : `${pct(c)} `}week over week (${span})`;
    case 'down':
      return `${label} down ${pct(c ?? 0)} week over week (${span})`;
    case 'steady':
      return `${label} flat (${span})`;
    default:
      return `${label} ${span}, too few to call a trend`;
  }
}

/**
 * `coverage`: the report's week coverage (src/reports/coverage.ts). A week-over-week growth figure
 * involves the report week, the week before and, for the week before's dormant count and the cohort
 * before, the week before that: each must be fully covered, or no change is called (a partly covered
 * week is not a point of a trend). Without it every week counts as covered.
 */
export function growthHighlights(g: GrowthSection, coverage: readonly WeekCoverage[] = []): Highlight[] {
  const out: Highlight[] = [];
  const cur = g.lifecycle.at(-1)!;
  const prev = g.lifecycle.at(-2)!;
  const byMonday = new Map(coverage.map((c) => [c.monday, c]));
  const notCovered = g.weeks
    .slice(-3)
    .map((w) => byMonday.get(w))
    .filter((c): c is WeekCoverage => c !== undefined && !c.covered);
  if (notCovered.length && cur.new !== null && prev.new !== null) {
    out.push({
      subject: 'lifecycle-coverage',
      direction: 'too-few',
      change: null,
      text:
        `Growth: no week-over-week change is called, as ${notCovered.map((c) => `${c.label} (${c.reasons.join('; ')})`).join(' and ')} ` +
        `${notCovered.length === 1 ? 'is' : 'are'} not fully covered by the data.`,
    });
  } else if (cur.new === null || prev.new === null || cur.dormant === null || prev.dormant === null) {
    const week = g.firstCoveredWeek ?? cur.week;
    out.push({
      subject: 'lifecycle-history',
      direction: 'too-few',
      change: null,
      text: `Growth: the data starts in the week of ${week}, so new installations cannot be told from returning ones this week or last; no growth trend is called.`,
    });
  } else {
    const nd = directionOf(cur.new, prev.new, cur.new, prev.new);
    const dd = directionOf(cur.dormant, prev.dormant, cur.dormant, prev.dormant);
    const nc = change(cur.new, prev.new);
    const dc = change(cur.dormant, prev.dormant);
    out.push({ subject: 'new-installations', direction: nd, change: nc, text: `${movement('New installations', cur.new, prev.new, nd, nc)}.` });
    out.push({ subject: 'dormant', direction: dd, change: dc, text: `${movement('Installations gone dormant', cur.dormant, prev.dormant, dd, dc)}.` });
  }

  // The newest cohort with a week-after figure against the cohort before it.
  const withW1 = g.retention.filter((r) => r.shares[0] !== null && r.shares[0] !== undefined);
  const last = withW1.at(-1);
  const before = withW1.at(-2);
  if (last && last.size !== null) {
    const share = last.shares[0]!;
    let text = `${pct(share)} of the ${int(last.size)} installations first seen in the week of ${last.cohort} came back the week after`;
    let d: Direction = 'too-few';
    let c: number | null = null;
    if (before && before.size !== null && before.shares[0] !== null && notCovered.length === 0) {
      d = directionOf(share, before.shares[0]!, last.size, before.size);
      c = change(share, before.shares[0]!);
      const was = `${pct(before.shares[0]!)} for the cohort before`;
      text +=
        d === 'up' || d === 'down'
          ? ` (${d === 'up' ? 'up' : 'down'} from ${was})`
          : d === 'steady'
            ? ` (about the same as the ${was})`
            : ` (${was}; cohorts under ${MIN_USERS} installations, too few to call a trend)`;
    }
    out.push({ subject: 'retention-w1', direction: d, change: c, text: `${text}.` });
  }

  const release = g.releases.at(-1);
  if (release) {
    const name = `\`${release.version.replace(/`/g, "'")}\``;
    const text =
      release.daysToHalf !== null
        ? `Release ${name} (first seen ${release.firstSeen}) ran on half of the active installations after ${release.daysToHalf} days.`
        : `Release ${name} (first seen ${release.firstSeen}) has run on ${int(release.installations)} installations, ${pct(release.share)} of this week's active ones: not yet half.`;
    out.push({ subject: `release:${release.version}`, direction: release.daysToHalf !== null ? 'up' : 'steady', change: null, text });
  }
  return out;
}
