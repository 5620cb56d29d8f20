/**
 * Block Kit checks the Slack stand-in applies to `chat.postMessage` `blocks`, after Slack's documented
 * limits (/work/shared/reference/slack.md, "Block Kit limits"). A violation makes the post fail with
 * `invalid_blocks`, with a message in `response_metadata.messages` shaped like Slack's
 * (`[ERROR] ... [json-pointer:/blocks/0/text/text]`).
 *
 * Not a full Block Kit validator: interactive elements, accessories and rich_text internals are not
 * checked; unknown block types are refused, as Slack does.
 */

const KNOWN_TYPES = new Set([
  'actions',
  'context',
  'context_actions',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
]);

export const MAX_BLOCKS = 50;
export const MAX_HEADER_TEXT = 150;
export const MAX_SECTION_TEXT = 3000;
export const MAX_SECTION_FIELDS = 10;
export const MAX_FIELD_TEXT = 2000;
export const MAX_CONTEXT_ELEMENTS = 10;
export const MAX_TABLE_ROWS = 100;
export const MAX_TABLE_CELLS = 20;
export const MAX_MARKDOWN_TEXT = 12000;

class BlockError extends Error {}

function fail(message: string, pointer: string): never {
  throw new BlockError(`[ERROR] ${message} [json-pointer:${pointer}]`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function textObject(v: unknown, pointer: string, opts: { max: number; plainOnly?: boolean }): void {
  if (!isObject(v)) fail('must be a text object', pointer);
  const allowed = opts.plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
  if (typeof v.type !== 'string' || !allowed.includes(v.type)) {
    fail(`must be one of: ${allowed.join(', ')}`, `${pointer}/type`);
  }
  if (typeof v.text !== 'string') fail('must be a string', `${pointer}/text`);
  if (v.text.length === 0) fail('must be more than 0 characters', `${pointer}/text`);
  if (v.text.length > opts.max) fail(`must be less than ${opts.max + 1} characters`, `${pointer}/text`);
}

function checkBlock(block: unknown, i: number, state: { tables: number; ids: Set<string> }): void {
  const p = `/blocks/${i}`;
  if (!isObject(block)) fail('must be an object', p);
  if (typeof block.type !== 'string') fail('missing required field: type', p);
  if (!KNOWN_TYPES.has(block.type)) fail(`unsupported type: ${block.type}`, `${p}/type`);
  if (block.block_id !== undefined) {
    if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > 255) {
      fail('must be a string of 1 to 255 characters', `${p}/block_id`);
    }
    if (state.ids.has(block.block_id)) fail('duplicate block_id', `${p}/block_id`);
    state.ids.add(block.block_id);
  }
  switch (block.type) {
    case 'header':
      textObject(block.text, `${p}/text`, { max: MAX_HEADER_TEXT, plainOnly: true });
      break;
    case 'section': {
      if (block.text === undefined && block.fields === undefined) fail('must provide either text or fields', p);
      if (block.text !== undefined) textObject(block.text, `${p}/text`, { max: MAX_SECTION_TEXT });
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length === 0) fail('must be a non-empty array', `${p}/fields`);
        if (block.fields.length > MAX_SECTION_FIELDS) fail(`no more than ${MAX_SECTION_FIELDS} items allowed`, `${p}/fields`);
        block.fields.forEach((f, j) => textObject(f, `${p}/fields/${j}`, { max: MAX_FIELD_TEXT }));
      }
      break;
    }
    case 'context': {
      const els = block.elements;
      if (!Array.isArray(els) || els.length === 0) fail('must be a non-empty array', `${p}/elements`);
      if (els.length > MAX_CONTEXT_ELEMENTS) fail(`no more than ${MAX_CONTEXT_ELEMENTS} items allowed`, `${p}/elements`);
      els.forEach((el, j) => {
        const ep = `${p}/elements/${j}`;
        if (!isObject(el)) fail('must be an object', ep);
        if (el.type === 'image') {
          if (typeof el.alt_text !== 'string') fail('missing required field: alt_text', ep);
          if (typeof el.image_url !== 'string' && !isObject(el.slack_file)) fail('must provide image_url or slack_file', ep);
        } else {
          textObject(el, ep, { max: MAX_SECTION_TEXT });
        }
      });
      break;
    }
    case 'image':
      if (typeof block.alt_text !== 'string' || block.alt_text.length === 0) fail('missing required field: alt_text', p);
      if (block.alt_text.length > 2000) fail('must be less than 2001 characters', `${p}/alt_text`);
      if ((typeof block.image_url === 'string') === isObject(block.slack_file)) {
        fail('must provide exactly one of image_url or slack_file', p);
      }
      if (block.title !== undefined) textObject(block.title, `${p}/title`, { max: 2000, plainOnly: true });
      break;
    case 'table': {
      state.tables += 1;
      if (state.tables > 1) fail('only one table is allowed per message', p);
      const rows = block.rows;
      if (!Array.isArray(rows) || rows.length === 0) fail('must be a non-empty array', `${p}/rows`);
      if (rows.length > MAX_TABLE_ROWS) fail(`no more than ${MAX_TABLE_ROWS} items allowed`, `${p}/rows`);
      rows.forEach((row, r) => {
        const rp = `${p}/rows/${r}`;
        if (!Array.isArray(row) || row.length === 0) fail('must be a non-empty array', rp);
        if (row.length > MAX_TABLE_CELLS) fail(`no more than ${MAX_TABLE_CELLS} items allowed`, rp);
        row.forEach((cell, c) => {
          const cp = `${rp}/${c}`;
          if (!isObject(cell)) fail('must be an object', cp);
          if (cell.type === 'raw_text') {
            if (typeof cell.text !== 'string') fail('must be a string', `${cp}/text`);
          } else if (cell.type === 'rich_text') {
            if (!Array.isArray(cell.elements)) fail('must be an array', `${cp}/elements`);
          } else {
            fail('must be one of: raw_text, rich_text', `${cp}/type`);
          }
        });
      });
      if (block.column_settings !== undefined) {
        if (!Array.isArray(block.column_settings)) fail('must be an array', `${p}/column_settings`);
        if (block.column_settings.length > MAX_TABLE_CELLS) fail(`no more than ${MAX_TABLE_CELLS} items allowed`, `${p}/column_settings`);
        block.column_settings.forEach((s, j) => {
          if (s === null) return;
          if (!isObject(s)) fail('must be an object or null', `${p}/column_settings/${j}`);
          if (s.align !== undefined && !['left', 'center', 'right'].includes(s.align as string)) {
            fail('must be one of: left, center, right', `${p}/column_settings/${j}/align`);
          }
        });
      }
      break;
    }
    case 'rich_text':
      if (!Array.isArray(block.elements)) fail('must be an array', `${p}/elements`);
      break;
    case 'markdown':
      if (typeof block.text !== 'string' || block.text.length === 0) fail('must be a non-empty string', `${p}/text`);
      if (block.text.length > MAX_MARKDOWN_TEXT) fail(`must be less than ${MAX_MARKDOWN_TEXT + 1} characters`, `${p}/text`);
      break;
    case 'actions':
      if (!Array.isArray(block.elements) || block.elements.length === 0) fail('must be a non-empty array', `${p}/elements`);
      if (block.elements.length > 25) fail('no more than 25 items allowed', `${p}/elements`);
      break;
    default:
      break;
  }
}

/** null when the blocks are acceptable, else Slack-like error message for `response_metadata.messages`. */
export function validateBlocks(blocks: unknown): string | null {
  try {
    if (!Array.isArray(blocks)) fail('must be an array', '/blocks');
    if (blocks.length > MAX_BLOCKS) fail(`no more than ${MAX_BLOCKS} items allowed`, '/blocks');
    const state = { tables: 0, ids: new Set<string>() };
    blocks.forEach((b, i) => checkBlock(b, i, state));
    return null;
  } catch (error) {
    if (error instanceof BlockError) return error.message;
    throw error;
  }
}
