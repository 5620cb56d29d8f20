import { describe, expect, it } from 'vitest';
import { escapeFormula, formatNumber, toCsv } from '../src/render/csv.ts';
import { escapeMrkdwn, digestBlocks } from '../src/render/slack.ts';
import { digestText } from '../src/render/text.ts';
import type { Digest } from '../src/render/digest.ts';

describe('CSV cells', () => {
  it('writes integers plainly and rounds other numbers to 4 decimals', () => {
    expect(formatNumber(12)).toBe('12');
    expect(formatNumber(1 / 3)).toBe('0.3333');
    expect(formatNumber(2 / 3)).toBe('0.6667');
    expect(formatNumber(-0.076923)).toBe('-0.0769');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(-0.00001)).toBe('0');
  });

  it('escapes text that a spreadsheet would evaluate', () => {
    for (const bad of ['=HYPERLINK("x")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) expect(escapeFormula(bad)).toBe(`'${bad}`);
    expect(escapeFormula('ssh')).toBe('ssh');
    expect(escapeFormula('a=b')).toBe('a=b');
  });

  it('escapes text cells only, not the numbers we computed', () => {
    const csv = toCsv({ header: ['name', 'change'], rows: [['=cmd|calc', -0.25], ['a,"b"', null]] });
    expect(csv).toBe(`name,change\n'=cmd|calc,-0.25\n"a,""b""",\n`);
  });
});

describe('Slack text', () => {
  it('neutralizes mentions and links', () => {
    expect(escapeMrkdwn('<!channel> & <@U123> <https://x.io|click>')).toBe('&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://x.io|click&gt;');
  });

  const digest: Digest = {
    title: 'T <!here>',
    subtitle: 'sub',
    figures: [{ label: 'WAU', value: '10', change: '+5.0%' }],
    warnings: [],
    highlights: ['Feature that grew most: `<!here>`'],
    tables: [{ title: 'Protocols', header: ['protocol', 'users'], numeric: [false, true], rows: [['<!channel>', '3'], ['x`y', '1']] }],
    context: ['ctx <@U1>'],
  };

  it('never lets event data reach Slack unescaped', () => {
    const message = digestBlocks(digest);
    const json = JSON.stringify(message);
    expect(json).not.toMatch(/<!channel>|<!here>|<@U1>/);
    expect(json).toContain('&lt;!channel&gt;');
    // backticks in data would close the code block
    expect(json).toContain("x'y");
  });

  it('the text preview shows the same tables, aligned', () => {
    const text = digestText(digest);
    expect(text).toContain('  protocol    users');
    expect(text).toContain('  <!channel>      3');
  });
});
