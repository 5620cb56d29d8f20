/**
 * The report page: one self-contained HTML file per week (report.html) and an index across weeks
 * (index.html). Self-contained means it opens from a laptop with no network: the charts are inline
 * PNGs (data: URLs), styles and the table sorter are inline, and a Content-Security-Policy forbids
 * any other load, so a page that tried to fetch something would show it as an error in the console.
 *
 * It renders the same digest model as Slack and the terminal (src/render/digest.ts), with every row
 * (no "and 12 more"), so the three never disagree. Every figure cell carries its unformatted number
 * in `data-value`: the sorter uses it, and the page test compares it with the CSV files.
 */
import type { WeeklyReport } from '../reports/weekly-report.ts';
import { SUMMARY_METRICS, figure, type Figure } from '../reports/weekly-report.ts';
import { REJECT_REASONS } from '../sources/posthog-export.ts';
import type { Chart } from './charts.ts';
import { formatChange, formatInt, formatPercent, NO_CHANGE, PARTIAL, weeklyDigest, type Digest, type DigestTable } from './digest.ts';
import { formatNumber } from './csv.ts';
import { trackingPlanPageTables } from './tracking-plan.ts';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Inline code spans of the digest's highlights (`name`) as <code>, everything else escaped. */
function inlineText(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? `<code>${escapeHtml(part)}</code>` : escapeHtml(part)))
    .join('');
}

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

const STYLE = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --accent: #0072B2; --warn: #b3261e; --bg-soft: #f6f7f9; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub, .muted, figcaption, footer { color: var(--muted); }
.warning { background: #fdecea; border-left: 4px solid var(--warn); padding: 10px 14px; margin: 16px 0; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; margin: 18px 0; }
.card { background: var(--bg-soft); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 13px; } .card .value { font-size: 24px; font-weight: 650; } .card .change { font-size: 13px; }
ul.highlights li { margin: 4px 0; }
code { background: var(--bg-soft); padding: 0 4px; border-radius: 4px; font-size: 90%; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; } figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; }
th { background: var(--bg-soft); font-weight: 600; white-space: normal; vertical-align: bottom; }
/* Text cells wrap (a uuid at its hyphens), so a wide table such as the tracking plan's fits the page; figures do not. */
td:not(.num) { white-space: normal; overflow-wrap: break-word; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " ▲"; font-size: 10px; }
table.sortable th[aria-sort="descending"]::after { content: " ▼"; font-size: 10px; }
td.suppressed { color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; }
.note { font-size: 13px; color: var(--muted); margin: 2px 0 12px; }
footer { margin-top: 36px; font-size: 13px; border-top: 1px solid var(--line); padding-top: 10px; }
footer p { margin: 4px 0; }
`;

/**
 * Click a column header to sort by it (again to reverse). Numbers sort by their data-value (a
 * suppressed or empty cell sorts last either way), text by locale order; the first click on a
 * number column sorts descending, as people look for the biggest first.
 */
const SORT_SCRIPT = `
for (const table of document.querySelectorAll('table.sortable')) {
  const heads = table.tHead.rows[0].cells;
  for (let col = 0; col < heads.length; col++) {
    heads[col].addEventListener('click', () => {
      const th = heads[col];
      const numeric = th.dataset.type === 'number';
      const current = th.getAttribute('aria-sort');
      const dir = current ? (current === 'ascending' ? -1 : 1) : (numeric ? -1 : 1);
      for (const h of heads) h.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      const key = (row) => {
        const cell = row.cells[col];
        if (!numeric) return cell.textContent;
        const v = cell.dataset.value;
        return v === undefined || v === '' ? null : Number(v);
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === null || y === null) return x === null && y === null ? 0 : x === null ? 1 : -1;
        return (numeric ? x - y : String(x).localeCompare(String(y))) * dir;
      });
      for (const row of rows) body.appendChild(row);
    });
  }
}
`;

interface PageTable {
  id: string;
  title?: string;
  csv?: string | undefined;
  header: string[];
  numeric: boolean[];
  rows: Array<Array<{ text: string; value?: number | null | undefined }>>;
  note?: string | undefined;
  /** A heat table: share cells (0..1) from this column on are shaded by their value. */
  heatFrom?: number | undefined;
}

/** Okabe-Ito blue, more opaque for a higher share; white text once the shade is dark. */
function heatStyle(share: number): string {
  const a = Math.max(0, Math.min(1, share));
  return ` style="background: rgba(0, 114, 178, ${(0.08 + 0.82 * a).toFixed(2)});${a > 0.5 ? ' color: #fff;' : ''}"`;
}

function tableHtml(t: PageTable): string {
  const head = t.header
    .map((h, i) => `<th scope="col"${t.numeric[i] ? ' class="num" data-type="number"' : ' data-type="text"'}>${escapeHtml(h)}</th>`)
    .join('');
  const body = t.rows
    .map(
      (r) =>
        '<tr>' +
        r
          .map((c, i) => {
            if (!t.numeric[i]) return `<td>${escapeHtml(c.text)}</td>`;
            const suppressed = c.value === null && c.text !== '';
            const value = c.value === null || c.value === undefined ? '' : formatNumber(c.value);
            const heat = t.heatFrom !== undefined && i >= t.heatFrom && typeof c.value === 'number' ? heatStyle(c.value) : '';
            return `<td class="num${suppressed ? ' suppressed' : ''}" data-value="${value}"${heat}>${escapeHtml(c.text)}</td>`;
          })
          .join('') +
        '</tr>',
    )
    .join('\n');
  const title = t.title ? `<h3>${escapeHtml(t.title)}${t.csv ? ` <small class="muted">(<a href="${escapeHtml(t.csv)}">${escapeHtml(t.csv)}</a>)</small>` : ''}</h3>` : '';
  return (
    `${title}<div class="table-wrap"><table class="sortable" id="${escapeHtml(t.id)}"${t.csv ? ` data-csv="${escapeHtml(t.csv)}"` : ''}>` +
    `<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>` +
    (t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : '')
  );
}

function fromDigest(t: DigestTable, id: string): PageTable {
  return {
    id,
    title: t.title,
    csv: t.csv,
    header: t.header,
    numeric: t.numeric,
    rows: t.rows.map((r, i) => r.map((text, j) => ({ text, value: t.values?.[i]?.[j] }))),
    note: t.note,
    heatFrom: t.heat ? 2 : undefined,
  };
}

function summaryTable(report: WeeklyReport): PageTable {
  const fmt = (metric: string, n: number) =>
    metric === 'stickiness' ? formatPercent(n) : metric === 'avg_dau' ? n.toFixed(1) : formatInt(n);
  const partial = (text: string) => (report.partial ? `${text} ${PARTIAL}` : text);
  // Between weeks not both fully covered no change is claimed: "–" (the warning above says why).
  const row = (metric: string, f: Figure, comparable: boolean) => [
    { text: metric },
    { text: partial(fmt(metric, f.value)), value: f.value },
    { text: fmt(metric, f.previous), value: f.previous },
    { text: !comparable ? NO_CHANGE : f.change === null ? '' : formatChange(f), value: comparable ? f.change : null },
  ];
  const rows = SUMMARY_METRICS.map((m) => row(m, report.summary[m], report.comparison.comparable));
  const dl = report.downloads;
  if (dl) {
    rows.push(row('downloads', figure(dl.totals.downloads, dl.totals.previousDownloads), true));
    rows.push(row('updates', figure(dl.totals.updates, dl.totals.previousUpdates), true));
  }
  return { id: 'summary', csv: 'summary.csv', header: ['metric', 'value', 'previous', 'change'], numeric: [false, true, true, true], rows };
}

function dataQualityTable(report: WeeklyReport): PageTable | undefined {
  const files = report.dataQuality.files;
  if (!files.length) return undefined;
  const n = (x: number) => ({ text: formatInt(x), value: x });
  return {
    id: 'data-quality-files',
    title: 'Event files read',
    csv: 'data_quality.csv',
    header: ['file', 'format', 'records', 'accepted', ...REJECT_REASONS.map((r) => r.replace(/_/g, ' '))],
    numeric: [false, false, true, true, ...REJECT_REASONS.map(() => true)],
    rows: files.map((f) => [{ text: f.path }, { text: f.format }, n(f.records), n(f.accepted), ...REJECT_REASONS.map((r) => n(f.rejected[r]))]),
  };
}

function logFilesTable(report: WeeklyReport): PageTable | undefined {
  const dl = report.downloads;
  if (!dl?.files.length) return undefined;
  return {
    id: 'log-files',
    title: 'CDN log files read',
    csv: 'log_files.csv',
    header: ['file', 'format', 'lines', 'unparsable', 'error'],
    numeric: [false, false, true, true, false],
    rows: dl.files.map((f) => [
      { text: f.path },
      { text: f.format },
      { text: formatInt(f.lines), value: f.lines },
      { text: formatInt(f.unparsable), value: f.unparsable },
      { text: f.error ?? '' },
    ]),
  };
}

/**
 * Marks a page as ours: index.html is rewritten only when it is absent or carries this (src/sinks/html.ts),
 * so a page someone else put above --out is never overwritten.
 */
export const GENERATOR_MARK = '<meta name="generator" content="connect-metrics">';

/** Whether an existing page was written by connect-metrics (this version, or one from before the mark). */
export function isOurPage(html: string): boolean {
  return html.includes(GENERATOR_MARK) || (html.includes('<title>Teleport Connect usage · all weeks</title>') && html.includes("table.sortable"));
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${GENERATOR_MARK}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/** report.html: the week's digest with every row, the charts inline, sortable tables, data quality. */
export function reportPage(report: WeeklyReport, charts: readonly Chart[]): string {
  const digest: Digest = weeklyDigest(report, { maxRows: Number.POSITIVE_INFINITY });
  const parts: string[] = [];
  parts.push(`<header><h1>${escapeHtml(digest.title)}</h1><p class="sub">${escapeHtml(digest.subtitle)} · timezone ${escapeHtml(report.timezone)}</p></header>`);
  for (const w of digest.warnings) parts.push(`<div class="warning" role="alert">⚠ ${escapeHtml(w)}</div>`);
  parts.push(
    '<section id="figures"><div class="cards">' +
      digest.figures
        .map((f) => `<div class="card"><div class="label">${escapeHtml(f.label)}</div><div class="value">${escapeHtml(f.value)}</div><div class="change">${escapeHtml(f.change)} vs the week before</div></div>`)
        .join('') +
      '</div></section>',
  );
  if (digest.highlights.length) {
    parts.push(`<section id="highlights"><h2>Highlights</h2><ul class="highlights">${digest.highlights.map((h) => `<li>${inlineText(h)}</li>`).join('')}</ul></section>`);
  }
  if (charts.length) {
    parts.push(
      '<section id="charts"><h2>Charts</h2><div class="charts">' +
        charts
          .map((c) => `<figure><img src="data:image/png;base64,${c.png.toString('base64')}" alt="${escapeHtml(c.alt)}"><figcaption>${escapeHtml(c.title)}</figcaption></figure>`)
          .join('') +
        '</div></section>',
    );
  }
  parts.push(`<section id="summary"><h2>Summary</h2>${tableHtml(summaryTable(report))}</section>`);
  parts.push(
    '<section id="breakdowns"><h2>Breakdowns</h2>' +
      digest.tables.map((t, i) => tableHtml(fromDigest(t, t.csv ? t.csv.replace(/\.csv$/, '') : `table-${i}`))).join('\n') +
      '</section>',
  );
  const plan = trackingPlanPageTables(report);
  if (plan.length) {
    parts.push(
      '<section id="tracking-plan"><h2>Tracking plan</h2>' +
        '<p class="muted">Each week\'s connect.* events checked against config/tracking-plan.json. A violation shows its event, property, count and one example event\'s uuid, never the value.</p>' +
        plan.map((t, i) => tableHtml(fromDigest(t, i === 0 ? 'tracking_plan' : 'tracking-plan-problems'))).join('\n') +
        '</section>',
    );
  }
  const dq = [dataQualityTable(report), logFilesTable(report)].filter((t): t is PageTable => t !== undefined);
  parts.push(`<section id="data-quality"><h2>Data quality</h2>${digest.context.map((c) => `<p>${escapeHtml(c)}</p>`).join('')}${dq.map(tableHtml).join('\n')}</section>`);
  parts.push(
    `<footer><p>Report ${escapeHtml(report.id)} · generated ${escapeHtml(report.generatedAt)} · ` +
      `the figures are also in the CSV files beside this page.</p><p><a href="../index.html">All weeks</a></p></footer>`,
  );
  return page(digest.title, parts.join('\n'));
}

/** One week on the index page, read from a week folder's report.json. */
export interface IndexEntry {
  /** Folder of the week's report.html, relative to the index. */
  href: string;
  label: string;
  start: string;
  timezone: string;
  source: string;
  wau: number;
  avgDau: number;
  stickiness: number;
  events: number;
  downloads: number | null;
  incomplete: boolean;
  /** The week is fully covered by its data (src/reports/coverage.ts): only such weeks are compared. */
  covered: boolean;
  /** The week had not ended when its report was made (--allow-incomplete). */
  partial: boolean;
  /** The report's own 12-week WAU trend (covered weeks only): the index's chart reaches back further than the folders. */
  trend: Array<{ week: string; wau: number }>;
}

/** What the index says beside a week's label. */
function labelNote(e: IndexEntry): string {
  return e.partial ? ` ${PARTIAL}` : !e.covered ? ' (not fully covered)' : e.incomplete ? ' (incomplete?)' : '';
}

/** index.html: every week found in the output root, newest first, with the WAU trend across all of them. */
export function indexPage(entries: readonly IndexEntry[], chart: Chart | undefined, skipped: readonly string[]): string {
  const sorted = [...entries].sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : a.href < b.href ? -1 : 1));
  const change = (i: number) => {
    const prev = sorted[i + 1];
    const cur = sorted[i]!;
    if (!prev || prev.timezone !== cur.timezone || prev.source !== cur.source) return { text: '', value: null };
    // Adjacent weeks only, both fully covered (src/reports/coverage.ts), or no change is claimed.
    const adjacent = Date.parse(cur.start) - Date.parse(prev.start) <= 8 * 86_400_000;
    if (!adjacent || !cur.covered || !prev.covered) return { text: NO_CHANGE, value: null };
    const f = figure(cur.wau, prev.wau);
    return { text: f.change === null ? '' : formatChange(f), value: f.change };
  };
  const table: PageTable = {
    id: 'weeks',
    header: ['week', 'starts', 'WAU', 'WAU change', 'avg DAU', 'stickiness', 'events', 'downloads', 'timezone', 'source'],
    numeric: [false, false, true, true, true, true, true, true, false, false],
    rows: sorted.map((e, i) => [
      { text: e.label + labelNote(e) },
      { text: e.start.slice(0, 10) },
      { text: formatInt(e.wau), value: e.wau },
      change(i),
      { text: e.avgDau.toFixed(1), value: e.avgDau },
      { text: formatPercent(e.stickiness), value: e.stickiness },
      { text: formatInt(e.events), value: e.events },
      e.downloads === null ? { text: '' } : { text: formatInt(e.downloads), value: e.downloads },
      { text: e.timezone },
      { text: e.source },
    ]),
  };
  // Week labels link to their pages; the table helper escapes text, so links are put in afterwards.
  let html = tableHtml(table);
  for (const e of sorted) {
    const label = escapeHtml(e.label + labelNote(e));
    html = html.replace(`<td>${label}</td>`, `<td><a href="${escapeHtml(e.href)}/report.html">${label}</a></td>`);
  }
  const body = [
    '<header><h1>Teleport Connect usage · all weeks</h1>' +
      `<p class="sub">${sorted.length} weekly report${sorted.length === 1 ? '' : 's'}${sorted.length ? `, ${escapeHtml(sorted.at(-1)!.label)} to ${escapeHtml(sorted[0]!.label)}` : ''}. ` +
      'Click a week for its report; click a column to sort.</p></header>',
    chart ? `<section id="trend"><figure><img src="data:image/png;base64,${chart.png.toString('base64')}" alt="${escapeHtml(chart.alt)}"><figcaption>${escapeHtml(chart.title)}</figcaption></figure></section>` : '',
    `<section id="weeks-section"><h2>Weeks</h2>${html}</section>`,
    skipped.length ? `<p class="note">Not listed (no readable report.json): ${skipped.map(escapeHtml).join(', ')}</p>` : '',
    '<footer><p>Counts installations that opted in to usage data. Each week links to its own page and CSV files.</p></footer>',
  ];
  return page('Teleport Connect usage · all weeks', body.join('\n'));
}
