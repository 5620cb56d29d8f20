/**
 * Issue 14, point 7: privacy promises kept in every file. report.json and the data-quality examples
 * carry no anonymized id (tp.* hashes), no distinct_id and no raw rejected line (they say file, line,
 * reason); a small cell stays hidden in every table (one new Linux installation does not reappear as
 * `other,1` in new_installations.csv); `query` does not offer --privacy-k, which it would not apply.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';
import { combineNewInstallations, combinePlatforms, combineVersions } from '../src/reports/privacy.ts';
import type { PlatformRow } from '../src/reports/weekly-report.ts';

const CLUSTER_HASH = 'c1a5e7f0d2b4968a1f3e5c7b9d0a2f4e6c8b0d1e3f5a7c9b2d4f6a8c0e1b3d5f';
const USER_HASH = '9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0';
const tp = { 'tp.cluster_name': CLUSTER_HASH, 'tp.user_name': USER_HASH };

describe('the catch-all is a cell too', () => {
  const os = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;
  const week = (w: string, n: number[]) => os.map((o, i) => ({ week: w, os: o, downloads: null, newInstallations: n[i]! }));

  it('one new Linux installation does not reappear as other,1: other is empty too', () => {
    const out = combineNewInstallations(week('2026-11-16', [12, 8, 1, 0, 0]), 5);
    expect(out.map((r) => [r.os, r.newInstallations])).toEqual([['macos', 12], ['windows', 8], ['linux', null], ['other', null], ['unknown', 0]]);
    // Small cells that add up to k or more show as other.
    const big = combineNewInstallations(week('2026-11-16', [12, 3, 1, 1, 0]), 5);
    expect(big.map((r) => r.newInstallations)).toEqual([12, null, null, 5, 0]);
  });

  it('platforms and versions follow the same rule', () => {
    const p = (o: PlatformRow['os'], users: number): PlatformRow => ({ os: o, users, share: users / 30, previous: { users: 0, share: 0 } });
    const platforms = combinePlatforms([p('macos', 20), p('windows', 9), p('linux', 0), p('other', 1), p('unknown', 0)], 5, 30);
    // A data-named other of 1 is small: no figures.
    expect(platforms.map((r) => [r.os, r.users])).toEqual([['macos', 20], ['windows', 9], ['linux', 0], ['other', null], ['unknown', 0]]);
    const versions = combineVersions([{ version: '17.0.0', users: 2, share: 0.2 }, { version: '17.1.0', users: 8, share: 0.8 }], 5);
    expect(versions).toEqual([{ version: '17.1.0', users: 8, share: 0.8 }, { version: 'other', users: 2, share: 0.2, suppressed: true }]);
  });
});

describe('every output file of a report', () => {
  it('holds no tp.* hash, no distinct_id and no rejected line; no small cell in any table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cm-priv-'));
    let n = 0;
    const ev = (user: string, at: string, props: Record<string, unknown> = {}) =>
      JSON.stringify({ uuid: `01930000-0000-7000-8000-${String(++n).padStart(12, '0')}`, event: 'connect.cluster.login', distinct_id: user, properties: { ...tp, ...props }, timestamp: at, created_at: at });
    const lines: string[] = [];
    // An installation active every day since Nov 1, so W46 and W47 are covered and "new" is known.
    for (let d = 1; d <= 22; d++) lines.push(ev('inst-SECRET-old', `2026-11-${String(d).padStart(2, '0')}T09:00:00.000Z`, { 'connect.os': 'darwin' }));
    // New in W47: 12 on macOS, 1 on Linux.
    for (let i = 1; i <= 12; i++) lines.push(ev(`inst-SECRET-mac${i}`, '2026-11-17T10:00:00.000Z', { 'connect.os': 'darwin' }));
    lines.push(ev('inst-SECRET-linux', '2026-11-18T10:00:00.000Z', { 'connect.os': 'linux' }));
    // Rejected records that carry the secrets: a bad timestamp, and a line that is not JSON.
    lines.push(ev('inst-SECRET-rejected', 'not-a-time'));
    lines.push(`{"broken": "${CLUSTER_HASH}", "distinct_id": "inst-SECRET-broken"`);
    await writeFile(join(dir, 'export.jsonl'), lines.join('\n') + '\n');
    const out = join(dir, 'out', 'w');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await main(['report', '--week', '2026-W47', '--events', dir, '--out', out, '--data-dir', join(dir, 'data'), '--timezone', 'UTC'], {
      stdout: (t) => stdout.push(t),
      stderr: (t) => stderr.push(t),
      clock: { now: () => new Date('2026-11-24T12:00:00Z') },
      env: {},
    });
    expect(code, stderr.join('')).toBe(0);

    const files = [...(await readdir(out)).map((f) => join(out, f)), join(out, '..', 'index.html')];
    expect(files.length).toBeGreaterThan(15);
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      for (const secret of [CLUSTER_HASH, USER_HASH, CLUSTER_HASH.slice(0, 12), USER_HASH.slice(0, 12), 'inst-SECRET', 'not-a-time', '"broken"']) {
        expect(text.includes(secret), `${f} contains ${secret}`).toBe(false);
      }
    }
    for (const text of [stdout.join(''), stderr.join('')]) expect(text).not.toMatch(/inst-SECRET|c1a5e7f0d2b4|9f8e7d6c5b4a/);

    // The data-quality examples say where: file, line, reason.
    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const file = json.dataQuality.files[0];
    expect(file.examples).toEqual([
      { file: file.path, line: 36, reason: 'bad_timestamp' },
      { file: file.path, line: 37, reason: 'bad_json' },
    ]);

    // new_installations.csv, report week: linux (1) hidden, and other (that 1) hidden too.
    const rows = (await readFile(join(out, 'new_installations.csv'), 'utf8')).trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows.filter((r) => r[0] === '2026-11-16').map((r) => [r[1], r[2]])).toEqual([['macos', '12'], ['windows', '0'], ['linux', ''], ['other', ''], ['unknown', '0']]);
    // No table holds a cell of 1 to 4 installations.
    for (const [name, col] of [['new_installations.csv', 2], ['platforms.csv', 1], ['versions.csv', 1], ['features.csv', 2], ['protocols.csv', 2]] as const) {
      for (const r of (await readFile(join(out, name), 'utf8')).trim().split('\n').slice(1).map((x) => x.split(','))) {
        const v = Number(r[col]);
        expect(r[col] === '' || v === 0 || v >= 5, `${name}: ${r.join(',')}`).toBe(true);
      }
    }
  });
});

describe('query and --privacy-k', () => {
  it('is not offered where it would not apply', async () => {
    const stderr: string[] = [];
    const code = await main(['query', 'active_users_weekly', '--from', '2026-11-16', '--to', '2026-11-23', '--privacy-k', '3'], {
      stdout: () => {},
      stderr: (t) => stderr.push(t),
      clock: { now: () => new Date('2026-11-24T12:00:00Z') },
      env: {},
    });
    expect(code).toBe(2);
    expect(stderr.join('')).toContain("unknown option '--privacy-k'");
  });
});
