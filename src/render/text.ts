import type { Digest } from './digest.ts';
import { alignTable } from './digest.ts';

/** Strips control characters so that event data cannot move the cursor or recolour a terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** The digest as plain text for a terminal: what Slack would show, in the same order. */
export function digestText(digest: Digest): string {
  const out: string[] = [digest.title, digest.subtitle, ''];
  const width = Math.max(...digest.figures.map((f) => f.label.length));
  for (const f of digest.figures) out.push(`  ${f.label.padEnd(width)}  ${f.value.padStart(9)}  ${f.change}`);
  for (const w of digest.warnings) out.push('', `WARNING: ${printable(w)}`);
  if (digest.highlights.length) {
    out.push('', 'Highlights');
    for (const h of digest.highlights) out.push(`  - ${printable(h)}`);
  }
  for (const table of digest.tables) {
    out.push('', table.title);
    for (const line of alignTable(table, printable)) out.push(`  ${line}`);
    if (table.note) out.push(`  (${table.note})`);
  }
  out.push('');
  for (const c of digest.context) out.push(printable(c));
  return out.join('\n') + '\n';
}
