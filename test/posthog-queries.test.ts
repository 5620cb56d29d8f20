/**
 * Every registered query as PostHog would take it: parsed by PostHog's own parser, every function
 * call checked against HogQL's allowlist and its arity, every field against HogQL's `events`, and
 * every `toDate` argument against what PostHog's resolver can type (otherwise PostHog prints
 * `toDateOrNull`, which ClickHouse refuses for a DateTime). Generic over the registry: a query added
 * or rewritten later is checked the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HogQLParser } from '@posthog/hogql-parser';
import { allQueries } from '../src/queries/index.ts';
import type { QueryDefinition } from '../src/engine/query.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';
import { checkHogQL, hogqlParser } from './standins/posthog/hogql-check.ts';
import { ALL_FUNCTION_NAMES, findAggregation, findFunction } from './standins/posthog/hogql-functions.ts';

let parser: HogQLParser;
let values: Record<string, unknown>;

beforeAll(async () => {
  parser = await hogqlParser();
  const catalog = await loadCatalog(DEFAULT_CATALOG);
  values = standardParams({ catalog, eventPrefix: 'connect.' }, { from: '2026-11-09 08:00:00.000000', to: '2026-11-23 08:00:00.000000' }, 'America/Los_Angeles');
});

/** What is wrong with a query for PostHog, one line each (empty when nothing). */
function problems(q: Pick<QueryDefinition, 'sql'>): string[] {
  const check = checkHogQL(parser, q.sql, values);
  const lineOf = (offset = 0) => q.sql.slice(0, offset).split('\n').length;
  return [
    ...check.errors.map((e) => `line ${lineOf(e.start)}: ${e.message}`),
    // A String argument is what toDateOrNull is for (same date, Nullable); an untyped one is a DateTime
    // PostHog could not type, and ClickHouse refuses toDateOrNull(DateTime).
    ...check.toDateCalls
      .filter((c) => c.argType !== 'Date' && c.argType !== 'DateTime' && c.argType !== 'String')
      .map((c) => `line ${c.line}: ${c.text} is printed as toDateOrNull by PostHog (its argument has no type PostHog resolves)`),
  ];
}

// Queries over PostHog's `events` run on PostHog; the CloudFront one runs only on the embedded engine.
const onPostHog = allQueries.filter((q) => (q.reads ?? 'events') === 'events');

describe('every registered query, as PostHog takes it', () => {
  it('covers the registry: every query over events (and only the CDN one is left out)', () => {
    expect(onPostHog.length).toBeGreaterThanOrEqual(7);
    expect(allQueries.filter((q) => !onPostHog.includes(q)).map((q) => q.reads)).toEqual(['cdn_requests']);
  });

  it.each(onPostHog.map((q) => [q.id, q] as const))('%s: parses, calls only HogQL functions with their arity, reads known fields, types every toDate', (_id, q) => {
    expect(problems(q)).toEqual([]);
    // Not vacuous: the parser saw the calls.
    expect(checkHogQL(parser, q.sql, values).calls.length).toBeGreaterThan(3);
  });

  it.each(onPostHog.map((q) => [q.id, q] as const))('%s: every function it calls is in the allowlist with its source', (_id, q) => {
    for (const call of checkHogQL(parser, q.sql, values).calls) {
      const fn = findAggregation(call.name) ?? findFunction(call.name);
      expect(fn, call.name).toBeDefined();
      expect(fn!.source).toMatch(/^(A|M|AR|AT|C|D|J|MA|S)$/);
    }
  });
});

describe('the check fails when a query is wrong for PostHog', () => {
  const base = allQueries.find((q) => q.id === 'active_users_weekly')!;

  it('a ClickHouse function HogQL lacks (uniqCombined is commented out of aggregations.py)', () => {
    const q = { sql: base.sql.replace('count(DISTINCT cityHash64(distinct_id))', 'uniqCombined(distinct_id)') };
    expect(q.sql).not.toBe(base.sql);
    expect(problems(q)).toEqual(["line 4: Unsupported function call 'uniqCombined(...)'"]);
  });

  it('a function called with the wrong number of arguments', () => {
    // The bucket filter's hash (line 10; the first one, line 4, is the counted installation's).
    const q = { sql: base.sql.replace('% {user_buckets}', '% {user_buckets} + cityHash64(distinct_id, event)') };
    expect(q.sql).not.toBe(base.sql);
    expect(problems(q)).toEqual(["line 10: Function 'cityHash64' expects 1 argument, found 2"]);
  });

  it('a field HogQL\'s events lack (person_properties is the export files\' name, not HogQL\'s)', () => {
    const q = { sql: base.sql.replace('count() AS events', "countIf(JSONExtractString(person_properties, 'os') != '') AS events") };
    expect(problems(q)).toEqual(['line 5: Unable to resolve field: person_properties']);
  });

  it('a syntax error, worded by PostHog\'s parser', () => {
    const q = { sql: base.sql.replace('GROUP BY week', 'GROUP week') };
    expect(problems(q)).toHaveLength(1);
    expect(problems(q)[0]).toMatch(/^line \d+: .*(mismatched|no viable|extraneous)/);
  });

  it.each([
    ['the first-seen day of an aggregate', "toString(toDate(toTimeZone(min(timestamp), {timezone}))) AS first_seen"],
    ['a string instant made a DateTime64', "toMonday(toDate(toTimeZone(toDateTime64({from}, 6, 'UTC'), {timezone}))) AS week"],
  ])('toDate over %s (the forms issue 12 found in the queries)', (_what, expr) => {
    const q = { sql: `SELECT ${expr}, count() AS n FROM events GROUP BY 1` };
    expect(problems(q)).toEqual([expect.stringMatching(/is printed as toDateOrNull by PostHog/)]);
    // ... and the safe forms pass.
    const safe = {
      sql: "SELECT toString(min(toDate(toTimeZone(timestamp, {timezone})))) AS a, toMonday(toTimeZone(toDateTime64({from}, 6, 'UTC'), {timezone})) AS b FROM events",
    };
    expect(problems(safe)).toEqual([]);
  });
});

describe('the allowlist', () => {
  it('has the common functions, combinator-generated names, and no ClickHouse-only ones', () => {
    for (const name of ['count', 'countIf', 'argMaxIf', 'minIf', 'groupArrayIf', 'uniqExact', 'toStartOfWeek', 'JSONExtractString', 'arrayJoin', 'multiIf', 'transform', 'cityHash64', 'toTimeZone']) {
      expect(findAggregation(name) ?? findFunction(name), name).toBeDefined();
    }
    // Combinators as aggregations.py generates them: an If adds the condition argument.
    expect(findAggregation('sumArrayIf')).toMatchObject({ min: 2, max: 2 });
    expect(findAggregation('countArgMax')).toMatchObject({ min: 1, max: 2 });
    // Case-insensitive only where PostHog says so (case_sensitive=False).
    expect(findFunction('IFNULL')).toBeDefined();
    expect(findFunction('MULTIIF')).toBeUndefined();
    for (const name of ['uniqCombined', 'uniqCombined64', 'groupArrayLast', 'topKIf', 'xxHash64', 'sipHash64']) {
      expect(findAggregation(name) ?? findFunction(name), name).toBeUndefined();
    }
    expect(ALL_FUNCTION_NAMES.length).toBeGreaterThan(400);
  });
});
