/**
 * Issue 14, point 5: a CR, NUL or other control character in an event name, version, protocol or OS
 * value neither crashes a chart nor splits a CSV row: every CSV field holding CR or LF is quoted, and
 * the formula escape applies when the first visible character is `=`, `+`, `-` or `@`.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';
import { escapeFormula, toCsv } from '../src/render/csv.ts';
import { chartText } from '../src/render/charts.ts';

/**
 * A strict reader, as a spreadsheet reads a file: outside quotes a CR, an LF or CRLF ends the row.
 * A field holding CR or LF that is not quoted therefore splits its row, and the test sees it.
 */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

describe('CSV cells with control characters', () => {
  it('a field with CR or LF is quoted, and reads back as one field', () => {
    const csv = toCsv({ header: ['name', 'n'], rows: [['a\rb', 1], ['c\nd', 2], ['e\r\nf', 3], ['nul\u0000here', 4]] });
    expect(csv).toBe('name,n\n"a\rb",1\n"c\nd",2\n"e\r\nf",3\nnul\u0000here,4\n');
    expect(readCsv(csv)).toEqual([['name', 'n'], ['a\rb', '1'], ['c\nd', '2'], ['e\r\nf', '3'], ['nul\u0000here', '4']]);
  });

  it('the formula escape looks at the first visible character', () => {
    for (const t of ['=1+1', '+1', '-1', '@SUM(A1)', ' =1+1', '\u0000@SUM(A1)', '\r\n=cmd', '\u200b+1', '\t-x', '\u00a0@x']) expect(escapeFormula(t), JSON.stringify(t)).toBe(`'${t}`);
    for (const t of ['ssh', 'a=b', '1-2', ' x', '\u0000ssh']) expect(escapeFormula(t), JSON.stringify(t)).toBe(t);
  });

  it('chart text has no character that XML forbids', () => {
    expect(chartText('17.0.0\u0000')).toBe('17.0.0?');
    expect(chartText('a\rb\u0085c\ud800d\uffff')).toBe('a?b?c?d?');
    expect(chartText('emoji 😀 stays')).toBe('emoji 😀 stays');
  });
});

describe('a report over events with control characters', () => {
  it('finishes, draws every chart, and writes every row whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cm-ctrl-'));
    let n = 0;
    const ev = (user: string, event: string, at: string, properties: Record<string, unknown>) =>
      JSON.stringify({ uuid: `0192eeee-0000-7000-8000-${String(++n).padStart(12, '0')}`, event, distinct_id: user, properties, timestamp: at, created_at: at });
    const lines: string[] = [];
    // Every day of W46 and W47 so the weeks are covered; one installation with odd values throughout.
    for (let d = 8; d <= 22; d++) {
      const day = `2026-11-${String(d).padStart(2, '0')}`;
      lines.push(ev('plain', 'connect.cluster.login', `${day}T10:00:00.000Z`, { 'connect.os': 'darwin', 'connect.app_version': '17.0.0' }));
    }
    lines.push(
      ev('odd', 'connect.cluster.login', '2026-11-17T10:00:00.000Z', { 'connect.os': 'lin\u0000ux', 'connect.app_version': '17.1.0\u0000' }),
      ev('odd', 'connect.x\ry', '2026-11-17T11:00:00.000Z', {}),
      ev('odd', 'connect.a\nb', '2026-11-17T11:00:00.000Z', {}),
      ev('odd', 'connect.protocol.use', '2026-11-17T12:00:00.000Z', { 'connect.protocol': ' =1+1\r' }),
      ev('odd2', 'connect.cluster.login', '2026-11-18T10:00:00.000Z', { 'connect.app_version': '\u0000@SUM(A1)' }),
    );
    await writeFile(join(dir, 'export.jsonl'), lines.join('\n') + '\n');
    const out = join(dir, 'out', 'w');
    const stderr: string[] = [];
    const code = await main(['report', '--week', '2026-W47', '--events', dir, '--out', out, '--data-dir', join(dir, 'data'), '--timezone', 'UTC', '--privacy-k', '1'], {
      stdout: () => {},
      stderr: (t) => stderr.push(t),
      clock: { now: () => new Date('2026-11-24T12:00:00Z') },
      env: {},
    });
    expect(code, stderr.join('')).toBe(0);
    const files = await readdir(out);
    for (const chart of ['dau.png', 'wau-trend.png', 'platforms.png', 'lifecycle.png', 'retention.png', 'adoption.png']) expect(files).toContain(chart);
    for (const name of files.filter((f) => f.endsWith('.csv'))) {
      const rows = readCsv(await readFile(join(out, name), 'utf8'));
      for (const r of rows) expect(r.length, `${name}: ${JSON.stringify(r)}`).toBe(rows[0]!.length);
    }
    const features = readCsv(await readFile(join(out, 'features.csv'), 'utf8'));
    expect(features.map((r) => r[0])).toEqual(expect.arrayContaining(['connect.x\ry', 'connect.a\nb']));
    const protocols = readCsv(await readFile(join(out, 'protocols.csv'), 'utf8'));
    // Lower-cased as the rule says, and escaped: its first visible character is "=".
    expect(protocols.map((r) => r[0])).toContain("' =1+1\r");
    const versions = readCsv(await readFile(join(out, 'versions.csv'), 'utf8'));
    expect(versions.map((r) => r[0])).toEqual(expect.arrayContaining(['17.0.0', '17.1.0\u0000', "'\u0000@SUM(A1)"]));
  });
});
