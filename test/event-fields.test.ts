/**
 * The OS and version an event carries (src/engine/event-fields.ts) skip the JSON parse of a text
 * that cannot hold the key; the answer must be exactly that of plain lookups in order (the rule of
 * docs/metrics.md), whatever the text: keys written with \u escapes, the name as a value or nested,
 * non-string values, empty strings, spaces, invalid JSON.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EVENT_OS, EVENT_VERSION } from '../src/engine/event-fields.ts';
import { tempDir } from './helpers/fixtures.ts';

/** The rule as plain lookups (no guard), computed here: the first non-empty string among the names. */
function plain(names: Array<[string, string]>): string {
  const v = (json: string, name: string) => `JSONExtractString(${json}, '${name}')`;
  return `multiIf(${names.map(([j, n]) => `${v(j, n)} != '', ${v(j, n)}`).join(', ')}, '')`;
}
const OS = plain([['properties', 'connect.os'], ['properties', 'os'], ['person.properties', 'connect.os'], ['person.properties', 'os']]);
const VERSION = plain([['properties', 'connect.app_version'], ['properties', 'connect_version'], ['person.properties', 'connect.app_version'], ['person.properties', 'connect_version']]);

const TEXTS = [
  '{}',
  '{"connect.os":"darwin"}',
  '{"os":"win32"}',
  '{"connect.os":"","os":"linux"}',
  '{"connect\\u002eos":"linux"}',
  '{"\\u006fs":"win32"}',
  '{"o\\u0073" : "darwin", "connect.app_version":"17.0.1"}',
  '{"x":"connect.os","y":"\\"os\\""}',
  '{"nested":{"connect.os":"darwin","os":"linux"}}',
  '{"connect.os":1,"os":true}',
  '{ "os" : "linux" , "connect_version" : "16.4.0" }',
  '{"connect.app_version":"","connect_version":"15.0.0"}',
  '{"connect\\u002eapp_version":"18.0.0"}',
  '{"connect_version":null}',
  'not json "os"',
  '',
];

describe('EVENT_OS and EVENT_VERSION', () => {
  let engine: ChdbEngine;
  beforeAll(async () => {
    engine = ChdbEngine.open(join(await tempDir(), 'clickhouse'));
  });
  afterAll(() => engine?.close());

  it('equal plain lookups on every pair of awkward texts (event and person properties)', async () => {
    const pairs = TEXTS.flatMap((p) => TEXTS.map((q) => [p, q] as const));
    const rows = pairs.map(([p, q]) => `SELECT '${p.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' AS properties, '${q.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' AS \`person.properties\``);
    const sql = (expr: string) => `SELECT ${expr.replaceAll('person.properties', '`person.properties`')} FROM (${rows.join(' UNION ALL ')}) ORDER BY properties, \`person.properties\``;
    for (const [ours, reference] of [[EVENT_OS, OS], [EVENT_VERSION, VERSION]] as const) {
      const got = (await engine.rows(sql(ours))).rows.map((r) => r[0]);
      const want = (await engine.rows(sql(reference))).rows.map((r) => r[0]);
      expect(got).toHaveLength(pairs.length);
      expect(got).toEqual(want);
    }
    // The escaped keys are found (else the comparison above would prove less than it says).
    const one = async (expr: string, p: string) => (await engine.rows(`SELECT ${expr.replaceAll('person.properties', '`person.properties`')} FROM (SELECT '${p.replace(/\\/g, '\\\\')}' AS properties, '' AS \`person.properties\`)`)).rows[0]![0];
    expect(await one(EVENT_OS, '{"connect\\u002eos":"linux"}')).toBe('linux');
    expect(await one(EVENT_OS, '{"\\u006fs":"win32"}')).toBe('win32');
    expect(await one(EVENT_VERSION, '{"connect\\u002eapp_version":"18.0.0"}')).toBe('18.0.0');
  });
});
