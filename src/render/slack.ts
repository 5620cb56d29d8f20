/**
 * Slack Block Kit for the digest. Everything that reaches Slack is escaped the way Slack documents
 * (`&`, `<`, `>`), which makes every mention and link form (`<!channel>`, `<@U1>`, `<https://..>`)
 * inert; data text sits in code blocks, where Slack neither formats nor auto-links it.
 */
import type { Digest } from './digest.ts';
import { alignTable } from './digest.ts';

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** For text inside a code block: escaped, and backticks (which would end the block) replaced. */
function codeSafe(text: string): string {
  return escapeMrkdwn(text.replace(/`/g, "'"));
}

const SECTION_LIMIT = 3000;
/** Block Kit: a section field's text is at most 2000 characters (reference slack.md). */
const FIELD_LIMIT = 2000;
/** Blocks a message may carry (reference slack.md, "Block Kit limits"). */
export const MAX_BLOCKS = 50;

/**
 * `prefix` + the escaped `text` + `suffix` within `limit` characters. The text is cut BEFORE
 * escaping, so a cut never falls inside an entity (`&amp;` halved to `&am` would show as text);
 * a cut text ends in `…`.
 */
export function escapeWithin(text: string, limit: number, prefix = '', suffix = ''): string {
  const whole = prefix + escapeMrkdwn(text) + suffix;
  if (whole.length <= limit) return whole;
  const room = limit - prefix.length - suffix.length - 1;
  let used = 0;
  let cut = 0;
  for (const ch of text) {
    const size = escapeMrkdwn(ch).length;
    if (used + size > room) break;
    used += size;
    cut += ch.length;
  }
  return prefix + escapeMrkdwn(text.slice(0, cut)) + '…' + suffix;
}

/**
 * A message of at most MAX_BLOCKS blocks, and the blocks past them as thread replies of at most
 * MAX_BLOCKS each: Slack refuses a 51st block, and the digest must not lose its tail.
 */
export function splitBlocks(blocks: readonly unknown[], max = MAX_BLOCKS): { main: unknown[]; thread: unknown[][] } {
  const main = blocks.slice(0, max);
  const thread: unknown[][] = [];
  for (let i = max; i < blocks.length; i += max) thread.push(blocks.slice(i, i + max));
  return { main, thread };
}

export function digestBlocks(digest: Digest): SlackMessage {
  const blocks: unknown[] = [
    // plain_text shows entities literally, so the header drops the three characters instead of escaping them.
    { type: 'header', text: { type: 'plain_text', text: digest.title.replace(/[<>&]/g, '').slice(0, 150), emoji: false } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeWithin(digest.subtitle, SECTION_LIMIT) }] },
    {
      type: 'section',
      fields: digest.figures.slice(0, 10).map((f) => ({
        type: 'mrkdwn',
        text: escapeWithin(`${f.value} (${f.change})`, FIELD_LIMIT, `*${escapeWithin(f.label, 200)}*\n`),
      })),
    },
  ];
  for (const w of digest.warnings) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escapeWithin(w, SECTION_LIMIT, ':warning: *', '*') } });
  if (digest.highlights.length) {
    // Whole highlights while they fit; the cut one is cut before escaping.
    let text = '*Highlights*';
    for (const h of digest.highlights) {
      const line = escapeWithin(h, SECTION_LIMIT - text.length, '\n• ');
      if (line.length <= 4) break;
      text += line;
      if (line.endsWith('…')) break;
    }
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
  }
  for (const table of digest.tables) {
    const lines = alignTable(table, codeSafe);
    const title = `*${escapeWithin(table.title, 200)}*\n`;
    const note = table.note ? `\n_${escapeWithin(table.note, 500)}_` : '';
    let body = `${title}\`\`\`${lines.join('\n')}\`\`\`${note}`;
    if (body.length > SECTION_LIMIT) {
      // Whole (already escaped) lines while they fit: a cut never falls inside an entity or a row.
      const tail = '```\n_table cut: see the CSV_';
      let kept = `${title}\`\`\``;
      for (const [i, line] of lines.entries()) {
        const next = `${i ? '\n' : ''}${line}`;
        if (kept.length + next.length + tail.length > SECTION_LIMIT) break;
        kept += next;
      }
      body = kept + tail;
    }
    blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: body } });
  }
  blocks.push({ type: 'context', elements: digest.context.slice(0, 10).map((c) => ({ type: 'mrkdwn', text: escapeWithin(c, SECTION_LIMIT) })) });
  const fallback = `${digest.title}: ${digest.figures.map((f) => `${f.label} ${f.value} (${f.change})`).join(', ')}`;
  return { text: escapeMrkdwn(fallback), blocks };
}

/**
 * The digest with its charts as image blocks (files uploaded to Slack first), placed after the
 * highlights and before the tables: the figures, what changed, the pictures, then the detail.
 */
export function withImages(blocks: readonly unknown[], images: ReadonlyArray<{ fileId: string; alt: string; title: string }>): unknown[] {
  const imageBlocks = images.map((img) => ({
    type: 'image',
    slack_file: { id: img.fileId },
    alt_text: img.alt.slice(0, 2000),
    title: { type: 'plain_text', text: img.title.slice(0, 2000), emoji: false },
  }));
  const firstTable = blocks.findIndex((b) => (b as { type?: string }).type === 'divider');
  const at = firstTable === -1 ? blocks.length : firstTable;
  // Past 50 blocks the sink moves the tail to the message's thread (splitBlocks): nothing is dropped.
  return [...blocks.slice(0, at), ...imageBlocks, ...blocks.slice(at)];
}
