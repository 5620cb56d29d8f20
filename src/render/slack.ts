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

export function digestBlocks(digest: Digest): SlackMessage {
  const blocks: unknown[] = [
    // plain_text shows entities literally, so the header drops the three characters instead of escaping them.
    { type: 'header', text: { type: 'plain_text', text: digest.title.replace(/[<>&]/g, '').slice(0, 150), emoji: false } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(digest.subtitle) }] },
    {
      type: 'section',
      fields: digest.figures.slice(0, 10).map((f) => ({
        type: 'mrkdwn',
        text: `*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)} (${escapeMrkdwn(f.change)})`,
      })),
    },
  ];
  for (const w of digest.warnings) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `:warning: *${escapeMrkdwn(w)}*`.slice(0, SECTION_LIMIT) } });
  if (digest.highlights.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Highlights*\n${digest.highlights.map((h) => `• ${escapeMrkdwn(h)}`).join('\n')}`.slice(0, SECTION_LIMIT) } });
  }
  for (const table of digest.tables) {
    const lines = alignTable(table, codeSafe);
    let body = `*${escapeMrkdwn(table.title)}*\n\`\`\`${lines.join('\n')}\`\`\``;
    if (table.note) body += `\n_${escapeMrkdwn(table.note)}_`;
    if (body.length > SECTION_LIMIT) body = `${body.slice(0, SECTION_LIMIT - 40)}\`\`\`\n_table cut: see the CSV_`;
    blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: body } });
  }
  blocks.push({ type: 'context', elements: digest.context.slice(0, 10).map((c) => ({ type: 'mrkdwn', text: escapeMrkdwn(c) })) });
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
  // Slack takes 50 blocks a message: drop charts rather than fail (they are also in the page and folder).
  const room = Math.max(0, 50 - blocks.length);
  return [...blocks.slice(0, at), ...imageBlocks.slice(0, room), ...blocks.slice(at)];
}
