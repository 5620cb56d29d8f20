/**
 * Issue 14 point 8: Slack as Slack behaves (reference slack.md and the SDK issues cited in the
 * stand-in): uploaded charts are processed asynchronously, so the digest waits until files.info
 * shows them ready before naming them in image blocks; when Slack still refuses the images the
 * digest goes without them (still once); never more than 50 blocks a message (the rest goes to the
 * thread); text is cut before escaping, never through an entity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './standins/slack/index.ts';
import { deliverDigest, type InlineImage } from '../src/sinks/slack.ts';
import { digestBlocks, escapeWithin, splitBlocks } from '../src/render/slack.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import type { Digest } from '../src/render/digest.ts';

let slack: SlackStandIn | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const chart = (name: string): InlineImage => ({ filename: `${name}.png`, title: name, alt: `chart ${name} of the week`, content: PNG });
const section = (i: number) => ({ type: 'section', text: { type: 'mrkdwn', text: `block ${i}` } });
const divider = { type: 'divider' };

async function deliver(s: SlackStandIn, blocks: unknown[], images: InlineImage[], reportId = '2026-W47/UTC/files') {
  const logger = memoryLogger();
  const waits: number[] = [];
  const result = await deliverDigest({ text: 'digest', blocks }, reportId, [], {
    token: s.token,
    channel: s.channel,
    apiUrl: s.apiUrl,
    notBefore: new Date('2026-11-23T00:00:00Z'),
    logger,
    sleep: async (ms) => {
      waits.push(ms);
    },
  }, images);
  return { result, logger, waits };
}

const digests = (s: SlackStandIn) => s.messages(s.channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
const imageIds = (blocks: unknown[] | undefined) =>
  (blocks ?? []).filter((b) => (b as { type: string }).type === 'image').map((b) => (b as { slack_file: { id: string } }).slack_file.id);

describe('Slack: uploaded charts are processed asynchronously', () => {
  it('waits until files.info shows every chart processed, then posts the image blocks once', async () => {
    slack = await startSlackStandIn({ processingInfoCalls: 2 });
    const { waits } = await deliver(slack, [section(0), divider, section(1)], [chart('a'), chart('b')]);
    const calls = slack.calls();
    const methods = calls.map((c) => c.method);
    // each chart asked about 3 times (twice "processing", then ready), before the one post
    expect(calls.filter((c) => c.method === 'files.info')).toHaveLength(6);
    expect(methods.lastIndexOf('files.info')).toBeLessThan(methods.indexOf('chat.postMessage'));
    expect(calls.filter((c) => c.method === 'chat.postMessage').map((c) => c.ok)).toEqual([true]);
    expect(waits).toHaveLength(2);
    const [posted] = digests(slack);
    expect(imageIds(posted!.blocks)).toEqual(slack.files().map((f) => f.id));
  });

  it('a chart Slack never finishes processing is left out; the digest still goes, once', async () => {
    slack = await startSlackStandIn({ neverReady: ['stuck.png'] });
    const { logger } = await deliver(slack, [section(0), divider, section(1)], [chart('ok'), chart('stuck')]);
    expect(digests(slack)).toHaveLength(1);
    const ok = slack.files().find((f) => f.filename === 'ok.png')!;
    expect(imageIds(digests(slack)[0]!.blocks)).toEqual([ok.id]);
    expect(logger.records.map((l) => l.msg).join('\n')).toMatch(/1 of 2 charts not processed by Slack in time/);
    expect(slack.calls().filter((c) => c.method === 'chat.postMessage').map((c) => c.ok)).toEqual([true]);
  });

  it('Slack refusing the images after all: the digest is posted without them, exactly once', async () => {
    slack = await startSlackStandIn({ processingInfoCalls: 0 });
    slack.inject({ method: 'chat.postMessage', error: 'invalid_blocks' });
    const { result, logger } = await deliver(slack, [section(0), divider, section(1)], [chart('a')]);
    expect(result.status).toBe('posted');
    expect(digests(slack)).toHaveLength(1);
    expect(imageIds(digests(slack)[0]!.blocks)).toEqual([]);
    expect(digests(slack)[0]!.blocks).toEqual([section(0), divider, section(1)]);
    expect(slack.calls().filter((c) => c.method === 'chat.postMessage').map((c) => c.ok)).toEqual([false, true]);
    expect(logger.records.map((l) => l.msg).join('\n')).toMatch(/posting it without them/);
    // the same report again: already there, nothing more posted
    const again = await deliver(slack, [section(0)], [chart('a')]);
    expect(again.result.status).toBe('already-posted');
    expect(digests(slack)).toHaveLength(1);
  });

  it('files.info without the files:read scope: posts the charts anyway and falls back if refused', async () => {
    slack = await startSlackStandIn({ processingInfoCalls: 1 });
    slack.inject({ method: 'files.info', error: 'missing_scope', needed: 'files:read' });
    const { logger } = await deliver(slack, [section(0)], [chart('a')]);
    // the stand-in's file is still processing: the post with it is refused, the one without goes
    expect(slack.calls().filter((c) => c.method === 'chat.postMessage').map((c) => c.error ?? 'ok')).toEqual(['invalid_blocks', 'ok']);
    expect(digests(slack)).toHaveLength(1);
    expect(logger.records.map((l) => l.msg).join('\n')).toMatch(/files:read|missing_scope/);
  });
});

describe('Slack: at most 50 blocks a message', () => {
  it('posts the first 50 blocks, the rest in order in the thread (charts included, none dropped)', async () => {
    slack = await startSlackStandIn({ processingInfoCalls: 0 });
    // 3 blocks before the first table, then 60 more: 63 blocks + 4 charts = 67
    const blocks = [section(0), section(1), section(2), ...Array.from({ length: 30 }, (_, i) => [divider, section(100 + i)]).flat()];
    const images = [chart('a'), chart('b'), chart('c'), chart('d')];
    await deliver(slack, blocks, images);
    const all = slack.messages(slack.channel);
    const [main, ...replies] = all;
    expect(main!.blocks).toHaveLength(50);
    expect(replies.map((r) => [r.thread_ts, r.blocks?.length])).toEqual([[main!.ts, 17]]);
    const sent = [...main!.blocks!, ...replies.flatMap((r) => r.blocks!)];
    // the whole digest, in order: 3 blocks, 4 images, then the 60 table blocks
    expect(sent.map((b) => (b as { type: string }).type)).toEqual(['section', 'section', 'section', 'image', 'image', 'image', 'image', ...blocks.slice(3).map((b) => (b as { type: string }).type)]);
    expect(sent.slice(7)).toEqual(blocks.slice(3));
    expect(splitBlocks(Array.from({ length: 101 }, (_, i) => i))).toEqual({
      main: Array.from({ length: 50 }, (_, i) => i),
      thread: [Array.from({ length: 50 }, (_, i) => 50 + i), [100]],
    });
  });
});

describe('Slack: text is cut before escaping, never through an entity', () => {
  /** No `&` left once the three entities are taken out: no entity was cut. */
  const noBrokenEntity = (text: string) => !text.replace(/&(amp|lt|gt);/g, '').includes('&');

  it('escapeWithin keeps the limit and whole entities', () => {
    for (let limit = 5; limit < 40; limit++) {
      const out = escapeWithin('a&<>&b'.repeat(10), limit, '*', '*');
      expect(out.length).toBeLessThanOrEqual(limit);
      expect(noBrokenEntity(out)).toBe(true);
      expect(out.endsWith('…*')).toBe(true);
    }
    expect(escapeWithin('a<b', 10)).toBe('a&lt;b');
  });

  it('long warnings, highlights, figures and tables full of & < > stay within Slack limits with whole entities', () => {
    const nasty = '&<>'.repeat(2000);
    const digest: Digest = {
      title: 'Week & <x>',
      subtitle: nasty,
      figures: [{ label: nasty, value: nasty, change: '+1%' }],
      warnings: [nasty],
      highlights: [nasty, 'second'],
      tables: [{ title: nasty, header: ['name', 'n'], numeric: [false, true], rows: Array.from({ length: 400 }, (_, i) => [`<&>${i}`, String(i)]), note: nasty }],
      context: [nasty],
    };
    const { blocks } = digestBlocks(digest);
    const texts: string[] = [];
    for (const b of blocks as Array<Record<string, any>>) {
      if (b.type === 'section' && b.text) {
        expect(b.text.text.length).toBeLessThanOrEqual(3000);
        texts.push(b.text.text);
      }
      for (const f of b.fields ?? []) {
        expect(f.text.length).toBeLessThanOrEqual(2000);
        texts.push(f.text);
      }
      for (const e of b.type === 'context' ? b.elements : []) {
        expect(e.text.length).toBeLessThanOrEqual(3000);
        texts.push(e.text);
      }
    }
    expect(texts.length).toBeGreaterThan(4);
    for (const t of texts) expect(noBrokenEntity(t), t.slice(-40)).toBe(true);
    // the cut table still closes its code block and says it was cut
    const table = texts.find((t) => t.includes('```'))!;
    expect(table).toMatch(/```\n_table cut: see the CSV_$/);
  });
});
