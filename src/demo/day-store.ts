/**
 * A columnar store of the events of one ingestion day (UTC day of `_inserted_at`): typed arrays, so
 * memory holds about a day of events and never the whole range. The events writer renders rows
 * from it in `_inserted_at` order.
 */
type Column = Float64Array | Uint32Array | Uint8Array;
const COLUMNS = {
  ts: Float64Array,
  created: Float64Array,
  inserted: Float64Array,
  inst: Uint32Array,
  detail: Uint32Array,
  seq: Uint32Array,
  dup: Uint8Array,
} as const;
type Name = keyof typeof COLUMNS;
const NAMES = Object.keys(COLUMNS) as Name[];

export class DayStore {
  len = 0;
  ts!: Float64Array;
  created!: Float64Array;
  inserted!: Float64Array;
  inst!: Uint32Array;
  detail!: Uint32Array;
  seq!: Uint32Array;
  dup!: Uint8Array;

  constructor(cap = 1024) {
    for (const name of NAMES) this.set(name, new COLUMNS[name](cap));
  }

  private set(name: Name, column: Column): void {
    (this as unknown as Record<Name, Column>)[name] = column;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    for (const name of NAMES) {
      const bigger = new COLUMNS[name](cap);
      bigger.set(this[name]);
      this.set(name, bigger);
    }
  }

  push(ts: number, created: number, inserted: number, inst: number, detail: number, seq: number, dup: number): void {
    if (this.len === this.ts.length) this.grow();
    const k = this.len++;
    this.ts[k] = ts;
    this.created[k] = created;
    this.inserted[k] = inserted;
    this.inst[k] = inst;
    this.detail[k] = detail;
    this.seq[k] = seq;
    this.dup[k] = dup;
  }

  /** Indices in `_inserted_at` order (ties: generation order). */
  order(dayStart: number): Uint32Array {
    const n = this.len;
    const out = new Uint32Array(n);
    const SHIFT = 67_108_864; // 2^26: offset-in-day (< 2^27 ms) * 2^26 + index stays below 2^53
    if (n < SHIFT) {
      const keys = new Float64Array(n);
      for (let k = 0; k < n; k++) keys[k] = (this.inserted[k]! - dayStart) * SHIFT + k;
      keys.sort();
      for (let k = 0; k < n; k++) out[k] = keys[k]! % SHIFT;
    } else {
      for (let k = 0; k < n; k++) out[k] = k;
      const ins = this.inserted;
      out.sort((a, b) => ins[a]! - ins[b]! || a - b);
    }
    return out;
  }

  /** A copy in `_inserted_at` order: rendering then reads the columns sequentially. */
  sorted(dayStart: number): DayStore {
    const order = this.order(dayStart);
    const n = this.len;
    const s = new DayStore(Math.max(1, n));
    s.len = n;
    for (const name of NAMES) {
      const from = this[name];
      const to = s[name];
      for (let k = 0; k < n; k++) to[k] = from[order[k]!]!;
    }
    return s;
  }
}
