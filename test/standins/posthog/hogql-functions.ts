/**
 * HogQL's function allowlist, as data: what PostHog lets a HogQL query call, with the number of
 * arguments each takes. A call to anything else, or with another number of arguments, is refused
 * by PostHog's printer (400) even when ClickHouse has the function.
 *
 * Copied by hand from PostHog/posthog (read 2026-12):
 *   A  posthog/hogql/functions/aggregations.py       (HOGQL_AGGREGATIONS, COMBINATOR_AGGREGATIONS, COMBINATORS)
 *   M  posthog/hogql/functions/mapping.py            (comparison, logical, conditional, tuples, window functions, other)
 *   AR posthog/hogql/functions/clickhouse/arrays.py
 *   AT posthog/hogql/functions/clickhouse/arithmetic.py
 *   C  posthog/hogql/functions/clickhouse/conversions.py
 *   D  posthog/hogql/functions/clickhouse/datetime.py
 *   J  posthog/hogql/functions/clickhouse/json.py
 *   MA posthog/hogql/functions/clickhouse/mathematical.py
 *   S  posthog/hogql/functions/clickhouse/strings.py
 *
 * How complete: every aggregation of aggregations.py up to `uniqUpToMerge` (the file goes on with
 * quantiles and a few rarer ones, not copied), the combinator-generated names (`countIf`,
 * `argMaxIf`, `minArray`, ...), every function of arrays.py, arithmetic.py, json.py and
 * mathematical.py, the conditional/comparison/logical/tuple/window/"other" parts of mapping.py
 * (maps, bits, bitmaps and URL functions are left out), conversions.py and datetime.py whole but
 * for a few PostgreSQL aliases, strings.py but for the ngram/multi-search families. A function this
 * list lacks may still exist in HogQL: add it (with its source) when a query needs it; the query
 * test then checks its arity.
 *
 * `signatures` (argument types -> result type) are kept only where the type matters to us: the
 * resolver types a call only through them, and `toDate` is printed as `toDate` only when its
 * argument is typed Date or DateTime (else as `toDateOrNull`, which ClickHouse refuses for a
 * DateTime). `Unknown` in a signature matches any argument.
 */

export type HogQLType = 'String' | 'Integer' | 'Float' | 'Boolean' | 'Date' | 'DateTime' | 'Array' | 'Interval' | 'Unknown';

export interface HogQLFunction {
  name: string;
  min: number;
  /** null: any number. */
  max: number | null;
  aggregate?: true;
  /** PostHog's `case_sensitive=False`: found whatever the case of the name. */
  caseInsensitive?: true;
  signatures?: Array<[HogQLType[], HogQLType]>;
  /** The file it comes from (see the table above). */
  source: 'A' | 'M' | 'AR' | 'AT' | 'C' | 'D' | 'J' | 'MA' | 'S';
}

const f = (source: HogQLFunction['source'], name: string, min: number, max: number | null, extra: Partial<HogQLFunction> = {}): HogQLFunction => ({
  name,
  min,
  max,
  source,
  ...extra,
});
const agg = (name: string, min: number, max: number | null, extra: Partial<HogQLFunction> = {}) => f('A', name, min, max, { aggregate: true, ...extra });

// aggregations.py: COMBINATORS and COMBINATOR_AGGREGATIONS; `_generate_suffix_combinations` builds
// every allowed suffix chain of each base (avg, sum, min, max, count, countDistinct, median).
const COMBINATORS: Record<string, { allowed: string[]; argMap: (min: number, max: number | null) => [number, number | null] }> = {
  If: { allowed: [], argMap: (a, b) => [a + 1, b === null ? null : b + 1] },
  Array: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a, b] },
  Map: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a, b] },
  State: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a, b] },
  Merge: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a, b] },
  ForEach: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a, b] },
  OrDefault: { allowed: ['If'], argMap: (a, b) => [a, b] },
  OrNull: { allowed: ['If'], argMap: (a, b) => [a, b] },
  ArgMin: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a + 1, b === null ? null : b + 1] },
  ArgMax: { allowed: ['If', 'OrDefault', 'OrNull'], argMap: (a, b) => [a + 1, b === null ? null : b + 1] },
};
const COMBINATOR_BASES: Array<[string, number, number]> = [
  ['avg', 1, 1],
  ['sum', 1, 1],
  ['min', 1, 1],
  ['max', 1, 1],
  ['count', 0, 1],
  ['countDistinct', 1, 1],
  ['median', 1, 1],
];

function combinations(base: string, min: number, max: number | null, suffixes: string[] = []): HogQLFunction[] {
  const out: HogQLFunction[] = [];
  if (suffixes.length) {
    let [lo, hi] = [min, max];
    for (const s of suffixes) [lo, hi] = COMBINATORS[s]!.argMap(lo, hi);
    out.push(agg(base + suffixes.join(''), lo, hi));
  }
  const next = suffixes.length ? COMBINATORS[suffixes.at(-1)!]!.allowed : Object.keys(COMBINATORS);
  for (const s of next) if (!suffixes.includes(s)) out.push(...combinations(base, min, max, [...suffixes, s]));
  return out;
}

const AGGREGATIONS: HogQLFunction[] = [
  ...COMBINATOR_BASES.flatMap(([name, min, max]) => combinations(name, min, max)),
  agg('count', 0, 1, { caseInsensitive: true }),
  agg('countIf', 1, 2),
  agg('countState', 0, 1),
  agg('countMerge', 1, 1),
  agg('countStateIf', 1, 2),
  agg('countDistinct', 1, 1),
  agg('countDistinctIf', 1, 2),
  agg('countMapIf', 2, 3),
  agg('min', 1, 1, { caseInsensitive: true }),
  agg('minIf', 2, 2),
  agg('max', 1, 1, { caseInsensitive: true }),
  agg('maxIf', 2, 2),
  agg('sum', 1, 1, { caseInsensitive: true }),
  agg('sumForEach', 1, 1),
  agg('minForEach', 1, 1),
  agg('sumIf', 2, 2),
  agg('avg', 1, 1, { caseInsensitive: true }),
  agg('avgIf', 2, 2),
  agg('avgMap', 1, 1),
  agg('avgMapIf', 2, 3),
  agg('avgMapState', 2, 3),
  agg('avgMapMerge', 1, 1),
  agg('avgMapMergeIf', 2, 2),
  agg('any', 1, 1),
  agg('anyIf', 2, 2),
  agg('stddevPop', 1, 1),
  agg('stddevPopIf', 2, 2),
  agg('stddevSamp', 1, 1),
  agg('stddevSampIf', 2, 2),
  agg('varPop', 1, 1),
  agg('varPopIf', 2, 2),
  agg('varSamp', 1, 1),
  agg('varSampIf', 2, 2),
  agg('covarPop', 2, 2),
  agg('covarPopIf', 3, 3),
  agg('covarSamp', 2, 2),
  agg('covarSampIf', 3, 3),
  agg('corr', 2, 2),
  agg('array_agg', 1, 1),
  agg('groupArray', 1, 1),
  agg('json_agg', 1, 1),
  agg('string_agg', 2, 2),
  agg('every', 1, 1),
  agg('anyHeavy', 1, 1),
  agg('anyHeavyIf', 2, 2),
  agg('anyLast', 1, 1),
  agg('anyLastIf', 2, 2),
  agg('argMin', 2, 2),
  agg('argMinIf', 3, 3),
  agg('argMax', 2, 2),
  agg('argMaxIf', 3, 3),
  agg('argMinMerge', 1, 1),
  agg('argMaxMerge', 1, 1),
  agg('argMinState', 2, 2),
  agg('argMaxState', 2, 2),
  agg('sumForEachState', 1, 1),
  agg('sumForEachMerge', 1, 1),
  agg('avgState', 1, 1),
  agg('avgStateIf', 2, 2),
  agg('avgMerge', 1, 1),
  agg('avgMergeIf', 2, 2),
  agg('avgWeighted', 2, 2),
  agg('avgWeightedIf', 3, 3),
  agg('avgArray', 1, 1),
  agg('topK', 1, 1),
  agg('groupArrayIf', 2, 2),
  agg('groupUniqArray', 1, 1),
  agg('groupUniqArrayIf', 2, 2),
  agg('groupUniqArrayArray', 1, 1),
  agg('groupUniqArrayArrayIf', 2, 2),
  agg('groupArrayInsertAt', 2, 2),
  agg('groupArrayInsertAtIf', 3, 3),
  agg('groupArrayMovingAvg', 1, 1),
  agg('groupArrayMovingAvgIf', 2, 2),
  agg('groupArrayMovingSum', 1, 1),
  agg('groupArrayMovingSumIf', 2, 2),
  agg('groupArraySample', 1, 1),
  agg('groupArraySampleIf', 2, 2),
  agg('groupBitAnd', 1, 1),
  agg('groupBitAndIf', 2, 2),
  agg('groupBitOr', 1, 1),
  agg('groupBitOrIf', 2, 2),
  agg('groupBitXor', 1, 1),
  agg('groupBitXorIf', 2, 2),
  agg('groupBitmap', 1, 1),
  agg('groupBitmapIf', 2, 2),
  agg('sumWithOverflow', 1, 1),
  agg('sumWithOverflowIf', 2, 2),
  agg('deltaSum', 1, 1),
  agg('deltaSumIf', 2, 2),
  agg('deltaSumTimestamp', 2, 2),
  agg('deltaSumTimestampIf', 3, 3),
  agg('sumMap', 1, 2),
  agg('sumMapIf', 2, 3),
  agg('minMap', 1, 2),
  agg('minMapIf', 2, 3),
  agg('maxMap', 1, 2),
  agg('maxMapIf', 2, 3),
  agg('sumMerge', 1, 1),
  agg('sumMergeIf', 2, 2),
  agg('sumState', 1, 1),
  agg('sumStateIf', 2, 2),
  agg('medianArray', 1, 1),
  agg('skewSamp', 1, 1),
  agg('skewSampIf', 2, 2),
  agg('skewPop', 1, 1),
  agg('skewPopIf', 2, 2),
  agg('kurtSamp', 1, 1),
  agg('kurtSampIf', 2, 2),
  agg('kurtPop', 1, 1),
  agg('kurtPopIf', 2, 2),
  agg('uniq', 1, null),
  agg('uniqIf', 2, null),
  agg('uniqExact', 1, null),
  agg('uniqExactState', 1, null),
  agg('uniqExactMerge', 1, null),
  agg('uniqExactIf', 2, null),
  agg('uniqHLL12', 1, null),
  agg('uniqHLL12If', 2, null),
  agg('uniqTheta', 1, null),
  agg('uniqThetaIf', 2, null),
  agg('uniqMerge', 1, 1),
  agg('uniqMergeIf', 2, 2),
  agg('uniqMap', 1, 1),
  agg('uniqState', 1, 1),
  agg('uniqStateIf', 2, 2),
];

const DATE_OR_TIME: HogQLType[] = ['Date', 'DateTime'];

const FUNCTIONS: HogQLFunction[] = [
  // mapping.py: comparison, in, logical, conditional
  ...['equals', 'notEquals', 'less', 'greater', 'lessOrEquals', 'greaterOrEquals', 'in', 'notIn'].map((n) => f('M', n, 2, 2)),
  f('M', 'and', 2, null),
  f('M', 'or', 2, null),
  f('M', 'xor', 2, null),
  f('M', 'not', 1, 1, { caseInsensitive: true }),
  f('M', 'if', 3, 3, { caseInsensitive: true }),
  f('M', 'multiIf', 3, null),
  // mapping.py: tuples, other, window functions
  f('M', 'tuple', 0, null),
  f('M', 'tupleElement', 2, 3),
  f('M', 'untuple', 1, 1),
  f('M', 'isFinite', 1, 1),
  f('M', 'isInfinite', 1, 1),
  f('M', 'ifNotFinite', 1, 1),
  f('M', 'isNaN', 1, 1),
  f('M', 'bar', 4, 4),
  f('M', 'transform', 3, 4),
  f('M', 'formatReadableDecimalSize', 1, 1),
  f('M', 'formatReadableSize', 1, 1),
  f('M', 'formatReadableQuantity', 1, 1),
  f('M', 'formatReadableTimeDelta', 1, 2),
  f('M', 'least', 2, 2, { caseInsensitive: true }),
  f('M', 'greatest', 2, 2, { caseInsensitive: true }),
  f('M', 'indexHint', 1, 1),
  f('M', 'rank', 0, 0),
  f('M', 'dense_rank', 0, 0),
  f('M', 'row_number', 0, 0),
  f('M', 'first_value', 1, 1),
  f('M', 'last_value', 1, 1),
  f('M', 'nth_value', 2, 2),
  f('M', 'lagInFrame', 1, 3),
  f('M', 'leadInFrame', 1, 3),
  f('M', 'lag', 1, 3),
  f('M', 'lead', 1, 3),
  // arithmetic.py
  ...['plus', 'minus', 'multiply', 'divide', 'intDiv', 'intDivOrZero', 'modulo', 'moduloOrZero', 'positiveModulo', 'gcd', 'lcm'].map((n) => f('AT', n, 2, 2)),
  f('AT', 'negate', 1, 1),
  f('AT', 'abs', 1, 1, { caseInsensitive: true }),
  f('AT', 'max2', 2, 2, { caseInsensitive: true }),
  f('AT', 'min2', 2, 2, { caseInsensitive: true }),
  f('AT', 'multiplyDecimal', 2, 3),
  f('AT', 'divideDecimal', 2, 3),
  // arrays.py
  f('AR', 'empty', 1, 1),
  f('AR', 'notEmpty', 1, 1),
  f('AR', 'isEmpty', 1, 1),
  f('AR', 'isNotEmpty', 1, 1),
  f('AR', 'length', 1, 1, { caseInsensitive: true }),
  f('AR', 'reverse', 1, 1, { caseInsensitive: true }),
  f('AR', 'array', 0, null),
  f('AR', 'range', 1, 3),
  f('AR', 'arrayConcat', 2, null),
  f('AR', 'arrayElement', 2, 2),
  f('AR', 'has', 2, 2),
  f('AR', 'hasAll', 2, 2),
  f('AR', 'hasAny', 2, 2),
  f('AR', 'hasSubstr', 2, 2),
  f('AR', 'indexOf', 2, 2),
  f('AR', 'arrayCount', 1, null),
  f('AR', 'countEqual', 2, 2),
  f('AR', 'arrayEnumerate', 1, 1),
  f('AR', 'arrayEnumerateUniq', 2, null),
  f('AR', 'arrayPopBack', 1, 1),
  f('AR', 'arrayPopFront', 1, 1),
  f('AR', 'arrayPushBack', 2, 2),
  f('AR', 'arrayPushFront', 2, 2),
  f('AR', 'arrayResize', 2, 3),
  f('AR', 'arraySlice', 2, 3),
  f('AR', 'arraySort', 1, null),
  f('AR', 'arrayReverseSort', 1, null),
  f('AR', 'arrayUniq', 1, null),
  f('AR', 'arrayJoin', 1, 1),
  f('AR', 'arrayDifference', 1, 1),
  f('AR', 'arrayDistinct', 1, 1),
  f('AR', 'arrayEnumerateDense', 1, 1),
  f('AR', 'arrayIntersect', 1, null),
  f('AR', 'arrayReduce', 2, null),
  f('AR', 'arrayReverse', 1, 1),
  f('AR', 'arrayFilter', 2, null),
  f('AR', 'arrayFlatten', 1, 1),
  f('AR', 'arrayCompact', 1, 1),
  f('AR', 'arrayZip', 2, null),
  f('AR', 'arrayAUC', 2, 2),
  f('AR', 'arrayMap', 2, null),
  f('AR', 'arrayFill', 2, null),
  f('AR', 'arrayFold', 3, null),
  f('AR', 'arrayWithConstant', 2, 2),
  f('AR', 'arraySplit', 2, null),
  f('AR', 'arrayReverseFill', 2, null),
  f('AR', 'arrayReverseSplit', 2, null),
  f('AR', 'arrayRotateLeft', 2, 2),
  f('AR', 'arrayRotateRight', 2, 2),
  f('AR', 'arrayExists', 1, null),
  f('AR', 'arrayAll', 1, null),
  f('AR', 'arrayFirst', 2, null),
  f('AR', 'arrayLast', 2, null),
  f('AR', 'arrayFirstIndex', 2, null),
  f('AR', 'arrayLastIndex', 2, null),
  f('AR', 'arrayMin', 1, 2),
  f('AR', 'arrayMax', 1, 2),
  f('AR', 'arraySum', 1, 2),
  f('AR', 'arrayAvg', 1, 2),
  f('AR', 'arrayCumSum', 1, null),
  f('AR', 'arrayCumSumNonNegative', 1, null),
  f('AR', 'arrayProduct', 1, 1),
  f('AR', 'arrayStringConcat', 1, 2),
  // conversions.py (the date conversions carry the signatures the resolver types calls with)
  f('C', 'hex', 1, 1),
  f('C', 'unhex', 1, 1),
  f('C', 'toInt', 1, 1),
  f('C', 'toIntOrZero', 1, 1),
  f('C', 'toFloat', 1, 1),
  f('C', 'toFloatOrZero', 1, 1),
  f('C', 'toFloatOrDefault', 1, 2),
  f('C', 'toDecimal', 2, 2),
  f('C', 'toUUID', 1, 1),
  f('C', 'toUUIDOrDefault', 2, 2),
  f('C', 'toString', 1, 2, { signatures: [[['Unknown'], 'String'], [['Unknown', 'String'], 'String']] }),
  f('C', 'toNullableString', 1, 1),
  f('C', 'toBool', 1, 1),
  f('C', 'toJSONString', 1, 1),
  f('C', 'parseDateTime', 2, 3),
  f('C', 'parseDateTimeBestEffort', 1, 2),
  f('C', 'toTypeName', 1, 1),
  f('C', 'cityHash64', 1, 1),
  f('C', 'UUIDv7ToDateTime', 1, 1),
  // toDate prints as toDateOrNull unless its argument is typed Date/DateTime (overloads=[((DateTimeType, DateType), "toDate")])
  f('C', 'toDate', 1, 1, { signatures: [[['String'], 'Date'], [['DateTime'], 'Date']] }),
  f('C', 'to_date', 1, 1, { signatures: [[['String'], 'Date'], [['DateTime'], 'Date']] }),
  f('C', 'toDateTime', 1, 2, { signatures: [[['String'], 'DateTime'], [['String', 'Integer'], 'DateTime'], [['String', 'Integer', 'String'], 'DateTime']] }),
  // Only a DateTime first argument is typed: toDateTime64('<string>', ...) stays untyped.
  f('C', 'toDateTime64', 1, 3, {
    signatures: [[['DateTime'], 'DateTime'], [['DateTime', 'Integer'], 'DateTime'], [['DateTime', 'Integer', 'String'], 'DateTime']],
  }),
  f('C', 'toDateTimeUS', 1, 2),
  f('C', 'isnull', 1, 1, { caseInsensitive: true }),
  f('C', 'isNotNull', 1, 1),
  f('C', 'coalesce', 1, null, { caseInsensitive: true }),
  f('C', 'ifnull', 2, 2, { caseInsensitive: true, signatures: [[['String', 'String'], 'String'], [['Date', 'Date'], 'Date'], [['DateTime', 'DateTime'], 'DateTime']] }),
  f('C', 'nullif', 2, 2, { caseInsensitive: true, signatures: [[['String', 'String'], 'String'], [['Date', 'Date'], 'Date'], [['DateTime', 'DateTime'], 'DateTime']] }),
  f('C', 'assumeNotNull', 1, 1),
  f('C', 'toNullable', 1, 1),
  // datetime.py
  f('D', 'timeZoneOf', 1, 1),
  f('D', 'timeZoneOffset', 1, 1),
  ...['toYear', 'toQuarter', 'toMonth', 'toDayOfYear', 'toDayOfMonth', 'toHour', 'toMinute', 'toSecond'].map((n) => f('D', n, 1, 1)),
  f('D', 'toDayOfWeek', 1, 3),
  f('D', 'toUnixTimestamp', 1, 2),
  f('D', 'toUnixTimestamp64Milli', 1, 1),
  f('D', 'fromUnixTimestamp64Milli', 1, 1),
  f('D', 'toStartOfInterval', 2, 3, { signatures: [[['DateTime', 'Interval'], 'DateTime'], [['DateTime', 'Interval', 'DateTime'], 'DateTime']] }),
  f('D', 'toStartOfYear', 1, 1),
  f('D', 'toStartOfISOYear', 1, 1),
  f('D', 'toStartOfQuarter', 1, 1),
  f('D', 'toStartOfMonth', 1, 1, { signatures: [[['Unknown'], 'Date']] }),
  f('D', 'toLastDayOfMonth', 1, 1),
  f('D', 'toMonday', 1, 1),
  f('D', 'toStartOfWeek', 1, 2, { signatures: [[['Unknown'], 'Date'], [['Unknown', 'Unknown'], 'Date']] }),
  f('D', 'toStartOfDay', 1, 2, { signatures: [[['Unknown'], 'DateTime'], [['Unknown', 'Unknown'], 'DateTime']] }),
  f('D', 'toLastDayOfWeek', 1, 2),
  f('D', 'toStartOfHour', 1, 1, { signatures: [[['Unknown'], 'DateTime']] }),
  f('D', 'toStartOfMinute', 1, 1, { signatures: [[['Unknown'], 'DateTime']] }),
  f('D', 'toStartOfSecond', 1, 1, { signatures: [[['Unknown'], 'DateTime']] }),
  f('D', 'toStartOfFiveMinutes', 1, 1),
  f('D', 'toStartOfTenMinutes', 1, 1),
  f('D', 'toStartOfFifteenMinutes', 1, 1),
  f('D', 'toTime', 1, 1),
  f('D', 'toISOYear', 1, 1),
  f('D', 'toISOWeek', 1, 1),
  f('D', 'toWeek', 1, 3),
  f('D', 'toYearWeek', 1, 3),
  f('D', 'age', 3, 3),
  f('D', 'dateAdd', 2, 3, { signatures: [[['Date', 'Unknown'], 'Date'], [['String', 'Unknown', 'Date'], 'Date']] }),
  f('D', 'dateSub', 2, 3, { signatures: [[['Date', 'Unknown'], 'Date'], [['String', 'Unknown', 'Date'], 'Date']] }),
  f('D', 'date_add', 2, 2),
  f('D', 'date_subtract', 2, 2),
  f('D', 'date_diff', 3, 3),
  f('D', 'dateDiff', 3, 3, { signatures: [[['String', 'DateTime', 'DateTime'], 'Integer']] }),
  f('D', 'timeStampAdd', 2, 2),
  f('D', 'timeStampSub', 2, 2),
  f('D', 'nowInBlock', 1, 1),
  f('D', 'rowNumberInBlock', 0, 0),
  f('D', 'rowNumberInAllBlocks', 0, 0),
  f('D', 'timeSlot', 1, 1),
  f('D', 'toYYYYMM', 1, 1),
  f('D', 'toYYYYMMDD', 1, 1),
  f('D', 'toYYYYMMDDhhmmss', 1, 1),
  ...['addYears', 'addMonths', 'addWeeks', 'addHours', 'addMinutes', 'addSeconds', 'addQuarters'].map((n) => f('D', n, 2, 2)),
  f('D', 'addDays', 2, 2, {
    signatures: [[['Date', 'Integer'], 'Date'], [['Date', 'Float'], 'Date'], [['DateTime', 'Integer'], 'DateTime'], [['DateTime', 'Float'], 'DateTime']],
  }),
  ...['subtractYears', 'subtractMonths', 'subtractWeeks', 'subtractDays', 'subtractHours', 'subtractMinutes', 'subtractSeconds', 'subtractQuarters'].map((n) =>
    f('D', n, 2, 2),
  ),
  f('D', 'timeSlots', 2, 3),
  f('D', 'formatDateTime', 2, 3),
  f('D', 'dateName', 2, 2),
  f('D', 'monthName', 1, 1),
  f('D', 'fromUnixTimestamp', 1, 1, { signatures: [[['Integer'], 'DateTime']] }),
  f('D', 'toModifiedJulianDay', 1, 1),
  f('D', 'fromModifiedJulianDay', 1, 1),
  f('D', 'now', 0, 1, { caseInsensitive: true, signatures: [[[], 'DateTime'], [['Unknown'], 'DateTime']] }),
  f('D', 'yesterday', 0, 0, { signatures: [[[], 'Date']] }),
  f('D', 'current_timestamp', 0, 0, { signatures: [[[], 'DateTime']] }),
  f('D', 'today', 0, 0, { signatures: [[[], 'Date']] }),
  f('D', 'current_date', 0, 0, { signatures: [[[], 'Date']] }),
  ...['Second', 'Minute', 'Hour', 'Day', 'Week', 'Month', 'Quarter', 'Year'].map((u) =>
    f('D', `toInterval${u}`, 1, 1, { signatures: [[['Integer'], 'Interval']] }),
  ),
  f('D', 'date_part', 2, 2),
  f('D', 'date_trunc', 2, 3),
  f('D', 'dateTrunc', 2, 3),
  f('D', 'to_timestamp', 1, 2),
  f('D', 'to_char', 2, 3),
  f('D', 'make_timestamp', 6, 7),
  f('D', 'make_date', 3, 3),
  f('D', 'date_bin', 3, 3),
  f('D', 'make_interval', 6, 6),
  f('D', 'make_timestamptz', 7, 7),
  f('D', 'timezone', 2, 2, { signatures: [[['String', 'DateTime'], 'DateTime']] }),
  f('D', 'toTimeZone', 1, 2, { signatures: [[['DateTime', 'String'], 'DateTime']] }),
  // json.py
  f('J', 'isValidJSON', 1, 1),
  ...['JSONHas', 'JSONLength', 'JSONArrayLength', 'JSONType', 'JSONExtractUInt', 'JSONExtractInt', 'JSONExtractFloat', 'JSONExtractBool', 'JSONExtractKey', 'JSONExtractKeys', 'JSONExtractRaw', 'JSONExtractArrayRaw', 'JSONExtractKeysAndValuesRaw'].map((n) =>
    f('J', n, 1, null),
  ),
  f('J', 'JSONExtractString', 1, null),
  f('J', 'JSONExtract', 2, null),
  f('J', 'JSONExtractKeysAndValues', 1, 3),
  f('J', 'JSON_VALUE', 2, null),
  // mathematical.py
  f('MA', 'e', 0, 0),
  f('MA', 'pi', 0, 0),
  ...['exp', 'log', 'ln', 'log2', 'log10', 'sqrt', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sign', 'degrees', 'radians', 'factorial'].map((n) =>
    f('MA', n, 1, 1, { caseInsensitive: true }),
  ),
  ...['exp2', 'exp10', 'cbrt', 'erf', 'erfc', 'lgamma', 'tgamma', 'intExp2', 'intExp10', 'cosh', 'acosh', 'sinh', 'asinh', 'atanh', 'log1p'].map((n) => f('MA', n, 1, 1)),
  f('MA', 'pow', 2, 2, { caseInsensitive: true }),
  f('MA', 'power', 2, 2, { caseInsensitive: true }),
  f('MA', 'atan2', 2, 2),
  f('MA', 'hypot', 2, 2),
  f('MA', 'width_bucket', 4, 4),
  ...['floor', 'ceil', 'trunc', 'round'].map((n) => f('MA', n, 1, 2, { caseInsensitive: true })),
  f('MA', 'roundBankers', 1, 2),
  f('MA', 'roundToExp2', 1, 1),
  f('MA', 'roundDuration', 1, 1),
  f('MA', 'roundAge', 1, 1),
  f('MA', 'roundDown', 2, 2),
  f('MA', 'rand', 0, 0),
  // strings.py
  f('S', 'left', 2, 2),
  f('S', 'right', 2, 2),
  f('S', 'lengthUTF8', 1, 1),
  ...['leftPad', 'rightPad', 'leftPadUTF8', 'rightPadUTF8'].map((n) => f('S', n, 2, 3)),
  f('S', 'lower', 1, 1, { caseInsensitive: true, signatures: [[['String'], 'String']] }),
  f('S', 'upper', 1, 1, { caseInsensitive: true, signatures: [[['String'], 'String']] }),
  ...['lowerUTF8', 'upperUTF8', 'isValidUTF8', 'toValidUTF8', 'reverseUTF8', 'base58Encode', 'base58Decode', 'tryBase58Decode', 'base64Encode', 'base64Decode', 'tryBase64Decode', 'encodeXMLComponent', 'decodeXMLComponent', 'extractTextFromHTML'].map((n) =>
    f('S', n, 1, 1),
  ),
  f('S', 'format', 2, null),
  f('S', 'concat', 2, null, { caseInsensitive: true }),
  f('S', 'substring', 3, 3, { caseInsensitive: true }),
  f('S', 'substringUTF8', 3, 3),
  f('S', 'appendTrailingCharIfAbsent', 2, 2),
  f('S', 'convertCharset', 3, 3),
  f('S', 'endsWith', 2, 2, { signatures: [[['String', 'String'], 'Boolean']] }),
  f('S', 'startsWith', 2, 2, { signatures: [[['String', 'String'], 'Boolean']] }),
  f('S', 'ascii', 1, 1, { caseInsensitive: true }),
  f('S', 'concatWithSeparator', 2, null),
  f('S', 'position', 2, 3, { caseInsensitive: true }),
  f('S', 'positionCaseInsensitive', 2, 3),
  f('S', 'positionUTF8', 2, 3),
  f('S', 'positionCaseInsensitiveUTF8', 2, 3),
  f('S', 'match', 2, 2, { signatures: [[['String', 'String'], 'Boolean']] }),
  f('S', 'multiMatchAny', 2, 2),
  f('S', 'extract', 2, 2, { caseInsensitive: true, signatures: [[['String', 'String'], 'String']] }),
  f('S', 'extractAll', 2, 2),
  f('S', 'extractAllGroupsHorizontal', 2, 2),
  f('S', 'extractAllGroupsVertical', 2, 2),
  f('S', 'extractGroups', 2, 2),
  ...['like', 'ilike', 'notLike', 'notILike'].map((n) => f('S', n, 2, 2)),
  f('S', 'locate', 2, 3),
  f('S', 'countSubstrings', 2, 3),
  f('S', 'countMatches', 2, 2),
  f('S', 'hasToken', 2, 2),
  f('S', 'regexpExtract', 2, 3),
  f('S', 'replace', 3, 3, { caseInsensitive: true }),
  ...['replaceAll', 'replaceOne', 'replaceRegexpAll', 'replaceRegexpOne', 'translate', 'translateUTF8'].map((n) => f('S', n, 3, 3)),
  f('S', 'regexpQuoteMeta', 1, 1),
  ...['splitByChar', 'splitByString', 'splitByRegexp'].map((n) => f('S', n, 2, 3)),
  ...['splitByWhitespace', 'splitByNonAlpha', 'alphaTokens'].map((n) => f('S', n, 1, 2)),
  f('S', 'extractAllGroups', 2, 2),
  f('S', 'ngrams', 2, 2),
  f('S', 'tokens', 1, 1),
  f('S', 'repeat', 2, 2),
  f('S', 'initcap', 1, 1),
  f('S', 'lpad', 3, 3),
  f('S', 'rpad', 3, 3),
  f('S', 'split_part', 3, 3),
  ...['ltrim', 'trimLeft', 'rtrim', 'trimRight'].map((n) => f('S', n, 1, 2)),
  f('S', 'btrim', 1, 2, { caseInsensitive: true }),
  f('S', 'trim', 1, 2, { caseInsensitive: true }),
];

function index(list: HogQLFunction[]): Map<string, HogQLFunction> {
  // Later entries win, as in PostHog's dict literals (`**GENERATED, "count": ...`).
  const map = new Map<string, HogQLFunction>();
  for (const fn of list) map.set(fn.caseInsensitive ? fn.name.toLowerCase() : fn.name, fn);
  return map;
}

const AGGREGATION_INDEX = index(AGGREGATIONS);
const FUNCTION_INDEX = index(FUNCTIONS);

/**
 * mapping.py `_find_function`: the exact name, else the lower-cased name if that entry is case-insensitive.
 * `case_sensitive=False` entries are keyed in lower case in PostHog (`"ifnull"`, `"nullif"`, `"isnull"`).
 */
function find(indexed: Map<string, HogQLFunction>, name: string): HogQLFunction | undefined {
  const exact = indexed.get(name);
  if (exact) return exact;
  const lower = indexed.get(name.toLowerCase());
  return lower?.caseInsensitive ? lower : undefined;
}

export function findAggregation(name: string): HogQLFunction | undefined {
  return find(AGGREGATION_INDEX, name);
}

export function findFunction(name: string): HogQLFunction | undefined {
  return find(FUNCTION_INDEX, name);
}

/** Every name of the list (for "Perhaps you meant" and for the completeness statement in docs). */
export const ALL_FUNCTION_NAMES: readonly string[] = [...new Set([...AGGREGATIONS, ...FUNCTIONS].map((fn) => fn.name))];

export { DATE_OR_TIME };
