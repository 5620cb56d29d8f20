/**
 * The report page in a real browser (Debian's chromium, driven by playwright-core): it renders
 * without console errors or network requests, every figure on the page equals the CSV file it
 * names, small cells read `<5`, the tables sort, and index.html lists every week folder.
 * Anonymized fields (cluster and user hashes) appear in no output at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseCsv, runCli, tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
// CI installs chromium (.ci/run); on a machine without it the browser checks are skipped, never in CI.
const haveBrowser = existsSync(CHROMIUM) || Boolean(process.env.CI);

const CLUSTER_HASH = 'q3ZrUv2m7nWbC1xYtLs9pQeKf4HjA0dGiO5R6T8uV+w=';
const USER_HASH = 'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa+ZyXwVu=';

/** A week of hand-made events: 14 macOS installations, small groups on purpose, hashes everywhere. */
function weekEvents(monday: string, extraUsers: number): TestEvent[] {
  const day = (d: number, h: number) => new Date(Date.parse(`${monday}T00:00:00Z`) + d * 86_400_000 + h * 3_600_000).toISOString();
  const tp = { 'tp.cluster_name': CLUSTER_HASH, 'tp.user_name': USER_HASH };
  const events: TestEvent[] = [];
  const n = 14 + extraUsers;
  // Cluster logins (Connect's share): 12 users, 1-6 over github, 7-12 local; users 1-11 also log in with Connect.
  const user = (i: number) => `${String.fromCharCode(64 + i).repeat(42)}A=`;
  for (let i = 1; i <= 12; i++) {
    events.push({ event: 'tp.user.login', distinct_id: 'tp.account', timestamp: day(i % 7, 8), properties: { 'tp.user_name': user(i), ...(i <= 6 ? { 'tp.connector_type': 'github' } : {}) } });
  }
  for (let i = 1; i <= n; i++) {
    events.push({
      event: 'connect.cluster.login',
      distinct_id: `connect.u${i}`,
      timestamp: day(i % 7, 9),
      properties: { ...tp, ...(i <= 11 ? { 'tp.user_name': user(i) } : {}), 'connect.os': i <= 2 ? 'win32' : 'darwin', 'connect.app_version': '17.0.1' },
      person_properties: { ...tp },
    });
  }
  for (let i = 1; i <= 8; i++) events.push({ event: 'connect.protocol.use', distinct_id: `connect.u${i}`, timestamp: day(1, 10 + (i % 5)), properties: { ...tp, 'connect.protocol': 'ssh' } });
  for (let i = 1; i <= 3; i++) events.push({ event: 'connect.protocol.use', distinct_id: `connect.u${i}`, timestamp: day(2, 11), properties: { ...tp, 'connect.protocol': 'kube' } });
  for (let i = 1; i <= 6; i++) events.push({ event: 'connect.accessRequest.create', distinct_id: `connect.u${i}`, timestamp: day(3, 12), properties: { ...tp } });
  events.push({ event: 'connect.fileTransfer.run', distinct_id: 'connect.u1', timestamp: day(4, 13), properties: { ...tp } });
  return events;
}

let root: string;
let stdout = '';
let browser: Browser | undefined;

beforeAll(async () => {
  const dir = await tempDir('cm-page-ev-');
  // One event the Sunday before W46, so the input starts before it and W46 is fully covered (issue
  // 14: otherwise no week-over-week change is claimed, and the index's WAU change below is "–").
  await writeExport(join(dir, 'w45.jsonl'), [{ event: 'connect.cluster.login', distinct_id: 'connect.u1', timestamp: '2026-11-08T12:00:00.000Z', properties: {} }]);
  await writeExport(join(dir, 'w46.jsonl'), weekEvents('2026-11-09', 0));
  await writeExport(join(dir, 'w47.jsonl'), weekEvents('2026-11-16', 4));
  root = await tempDir('cm-page-out-');
  const dataDir = await tempDir('cm-page-data-');
  for (const week of ['2026-W46', '2026-W47']) {
    const run = await runCli(['report', '--week', week, '--events', dir, '--out', join(root, week), '--data-dir', dataDir, '--sinks', 'csv,html']);
    expect(run.code, run.stderr).toBe(0);
    stdout += run.stdout;
  }
  if (haveBrowser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
});

afterAll(async () => {
  await browser?.close();
});

/** Opens a file in a fresh page, recording console errors, page errors and every non-file request. */
async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  await page.goto(pathToFileURL(path).href);
  return { page, problems };
}

interface PageTableData {
  id: string;
  csv: string | null;
  header: string[];
  rows: Array<Array<{ text: string; value: string | null }>>;
}

async function tables(page: Page): Promise<PageTableData[]> {
  return page.$$eval('table', (ts) =>
    ts.map((t) => ({
      id: t.id,
      csv: t.getAttribute('data-csv'),
      header: Array.from(t.querySelectorAll('thead th')).map((th) => th.textContent!.replace(/[▲▼]/g, '').trim()),
      rows: Array.from(t.querySelectorAll('tbody tr')).map((tr) =>
        Array.from(tr.querySelectorAll('td')).map((td) => ({ text: td.textContent!.trim(), value: td.getAttribute('data-value') })),
      ),
    })),
  );
}

/** Page column -> CSV column, per table (the page shows some columns under friendlier names). */
const COLUMNS: Record<string, Record<string, string>> = {
  'summary.csv': { value: 'value', previous: 'previous', change: 'change' },
  'dau.csv': { active: 'active_users' },
  'features.csv': { users: 'users', adoption: 'adoption', events: 'events' },
  'protocols.csv': { users: 'users', share: 'share', events: 'events' },
  'platforms.csv': { users: 'users', active: 'users', share: 'share', downloads: 'downloads', 'dl share': 'download_share' },
  'lifecycle.csv': { new: 'new', returning: 'returning', resurrecting: 'resurrecting', dormant: 'dormant', 'quick ratio': 'quick_ratio' },
  'retention.csv': { size: 'size', w1: 'w1', w2: 'w2', w3: 'w3', w4: 'w4', w5: 'w5', w6: 'w6', w7: 'w7', w8: 'w8' },
  'versions.csv': { users: 'users', share: 'share' },
  'releases.csv': { 'days to 50%': 'days_to_half', installations: 'installations', 'share now': 'share', updates: 'updates' },
  'new_installations.csv': { new: 'new_installations', downloads: 'downloads' },
  'connect_share.csv': { 'cluster users': 'cluster_users', 'Connect users': 'connect_users', share: 'share' },
  'connect_share_by_connector.csv': { 'cluster users': 'cluster_users', 'Connect users': 'connect_users', share: 'share' },
  // The page's per-event table against each event's first CSV row (violation none): events, conforming.
  'tracking_plan.csv': { events: 'events', conforming: 'conforming' },
  'data_quality.csv': { records: 'records', accepted: 'accepted', 'bad json': 'bad_json', 'no distinct id': 'no_distinct_id', 'bad timestamp': 'bad_timestamp' },
};

describe.skipIf(!haveBrowser)('report.html in headless Chromium', () => {
  it('renders without console errors and without any network request', async () => {
    const { page, problems } = await open(join(root, '2026-W47', 'report.html'));
    expect(await page.title()).toContain('2026-W47');
    // The charts are inline images that decoded.
    const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src')!.slice(0, 22), ok: i.complete && i.naturalWidth > 0 })));
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const img of images) expect(img).toEqual({ src: 'data:image/png;base64,', ok: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the same figures as the CSV files, and small cells as <5', async () => {
    const week = join(root, '2026-W47');
    const { page } = await open(join(week, 'report.html'));
    const found = await tables(page);
    const compared = new Set<string>();
    const suppressedSeen: string[] = [];
    let cellsCompared = 0;
    for (const t of found) {
      if (!t.csv) continue;
      const csv = parseCsv(await readFile(join(week, t.csv), 'utf8'));
      const header = csv[0]!;
      const body = csv.slice(1);
      const map = COLUMNS[t.csv];
      expect(map, `no column map for ${t.csv}`).toBeDefined();
      compared.add(t.csv);
      t.rows.forEach((row, r) => {
        // Days, lifecycle weeks and cohorts are rows in order (the page shows dates shorter);
        // new installations are the report week's rows by OS; the others are keyed by their first column.
        const latestWeek = body.map((b) => b[0]!).sort().at(-1);
        const csvRow = ['dau.csv', 'lifecycle.csv', 'retention.csv', 'connect_share.csv'].includes(t.csv!)
          ? body[r]
          : t.csv === 'new_installations.csv'
            ? body.find((b) => b[0] === latestWeek && b[1] === row[0]!.text)
            : body.find((b) => b[0] === row[0]!.text);
        // new_installations: only the report week's cell (the "new before" column is the week before's).
        const suppressedRow = t.csv === 'new_installations.csv' ? row[1]!.text.startsWith('<') : row.some((c) => c.text.startsWith('<'));
        if (suppressedRow && row[0]!.text === 'other') {
          // A small `other` reads <5 on the page; in the CSV it holds the folded cells as well.
          suppressedSeen.push(`${t.csv}:other`);
          return;
        }
        if (suppressedRow) {
          suppressedSeen.push(`${t.csv}:${row[0]!.text}`);
          // Folded into `other` in features/protocols (the row is gone), emptied in platforms.
          if (t.csv === 'platforms.csv') expect(csvRow![header.indexOf('users')]).toBe('');
          else if (t.csv === 'new_installations.csv') expect(csvRow![header.indexOf('new_installations')]).toBe('');
          else if (t.csv === 'releases.csv') expect(csvRow![header.indexOf('installations')]).toBe('');
          else expect(csvRow, `${t.csv}: ${row[0]!.text} should be folded into other`).toBeUndefined();
          return;
        }
        expect(csvRow, `${t.csv}: no row for ${row[0]!.text}`).toBeDefined();
        if ((t.csv === 'platforms.csv' || t.csv === 'new_installations.csv') && row[0]!.text === 'other') {
          // The page shows other as counted; the CSV's other also holds the small platforms folded into it.
          expect(Number(csvRow![header.indexOf(t.csv === 'platforms.csv' ? 'users' : 'new_installations')])).toBeGreaterThanOrEqual(Number(row[1]!.value));
          return;
        }
        t.header.forEach((h, c) => {
          const csvCol = map![h];
          if (!csvCol) return;
          const want = csvRow![header.indexOf(csvCol)]!;
          expect(row[c]!.value, `${t.csv} ${row[0]!.text} ${h}`).toBe(want);
          cellsCompared++;
          // The text people read says the same as the number (integers exactly, others to a rounding).
          if (/^-?\d+$/.test(want) && !/[.%]/.test(row[c]!.text)) expect(row[c]!.text.replace(/,/g, '').replace('−', '-'), `${t.csv} ${row[0]!.text} ${h} text`).toBe(want);
        });
      });
    }
    expect([...compared].sort()).toEqual([
      'connect_share.csv',
      'connect_share_by_connector.csv',
      'data_quality.csv',
      'dau.csv',
      'features.csv',
      'lifecycle.csv',
      'new_installations.csv',
      'platforms.csv',
      'protocols.csv',
      'releases.csv',
      'retention.csv',
      'summary.csv',
      'tracking_plan.csv',
      'versions.csv',
    ]);
    expect(cellsCompared).toBeGreaterThan(40);
    // kube (3 users), file transfer (1), windows (2) and the 4 new macOS installations of W47 are
    // under 5: each reads <5 on the page.
    expect(suppressedSeen.sort()).toEqual(['features.csv:file_transfer', 'new_installations.csv:macos', 'platforms.csv:windows', 'protocols.csv:kube']);
    const features = found.find((t) => t.csv === 'features.csv')!;
    const fileTransfer = features.rows.find((r) => r[0]!.text === 'file_transfer')!;
    expect(fileTransfer[1]!.text).toBe('<5');
    const featuresCsv = parseCsv(await readFile(join(week, 'features.csv'), 'utf8'));
    // file_transfer (1) folded into other, which then holds 1: under 5 itself, so empty (issue 14).
    expect(featuresCsv.at(-1)).toEqual(['other', '', '', '']);
    await page.close();
  });

  it('sorts a table by a column when its header is clicked, and reverses on a second click', async () => {
    const { page, problems } = await open(join(root, '2026-W47', 'report.html'));
    const users = () => page.$$eval('#features tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[1]!.getAttribute('data-value')));
    const header = page.locator('#features thead th', { hasText: /^users$/ });
    await header.click();
    const desc = await users();
    const numbers = desc.filter((v) => v !== '').map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    expect(desc.slice(numbers.length).every((v) => v === '')).toBe(true); // suppressed last
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    await header.click();
    const asc = (await users()).filter((v) => v !== '').map(Number);
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    // Text columns sort by name.
    await page.locator('#protocols thead th', { hasText: /^protocol$/ }).click();
    const names = await page.$$eval('#protocols tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')!.textContent!));
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    expect(problems).toEqual([]);
    await page.close();
  });

  it('index.html lists every week with its figures and links to each page', async () => {
    const { page, problems } = await open(join(root, 'index.html'));
    const [weeks] = (await tables(page)).filter((t) => t.id === 'weeks');
    expect(weeks!.rows.map((r) => r[0]!.text)).toEqual(['2026-W47', '2026-W46']);
    for (const row of weeks!.rows) {
      const label = row[0]!.text;
      const summary = parseCsv(await readFile(join(root, label, 'summary.csv'), 'utf8'));
      const wau = summary.find((r) => r[0] === 'wau')!;
      expect(row[weeks!.header.indexOf('WAU')]!.value).toBe(wau[1]);
    }
    // W47 has 18 installations, W46 14: +28.6%.
    expect(weeks!.rows[0]![weeks!.header.indexOf('WAU change')]!.value).toBe(String(Number((18 / 14 - 1).toFixed(4))));
    const hrefs = await page.$$eval('#weeks a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(hrefs).toHaveLength(2);
    for (const href of hrefs) expect(existsSync(new URL(href))).toBe(true);
    expect(await page.locator('#trend img').count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('anonymized fields', () => {
  it('never appear in any output: CSV, JSON, HTML, the digest or the preview', async () => {
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const d of await readdir(dir, { withFileTypes: true })) {
        if (d.isDirectory()) await walk(join(dir, d.name));
        else files.push(join(dir, d.name));
      }
    };
    await walk(root);
    expect(files.filter((f) => /\.(csv|json|html)$/.test(f)).length).toBeGreaterThan(10);
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      for (const secret of [CLUSTER_HASH, USER_HASH, CLUSTER_HASH.slice(0, 12), USER_HASH.slice(0, 12)]) {
        expect(text.includes(secret), `${f} contains ${secret}`).toBe(false);
      }
    }
    expect(stdout.length).toBeGreaterThan(500);
    expect(stdout.includes(CLUSTER_HASH.slice(0, 12)) || stdout.includes(USER_HASH.slice(0, 12))).toBe(false);
  });
});
