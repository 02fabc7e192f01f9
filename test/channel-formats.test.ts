/**
 * S43: what Herald posts, made from generated events as well as hand-picked ones: Slack's text
 * never holds a control character of mrkdwn unescaped, a Teams card stays within 28 KB, says
 * how many lines it left out and shows no date function from an error's text, a channel URL is
 * refused on any private or reserved address, and Retry-After is read in both its forms.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { channelUrlProblem } from '../contracts/channel-url.js';
import { slackMessage, slackText } from '../channels/slack.js';
import { teamsMaxBytes, teamsMessage } from '../channels/teams.js';
import { retryAfterMs } from '../channels/post.js';
import { channelRequests } from '../channels/transports.js';
import type { LineActions } from '../channels/transport.js';
import { digestEventSchema, type DigestEvent, type ErrorLine } from '../channels/events.js';
import { newWebhookSecret } from '../stores/channel-store.js';

const policy = { allow: [] };
const line = (message: string, i = 0): ErrorLine => ({
  errorId: i + 1,
  flow: 'Orders',
  integration: 'Shop',
  traceKey: `SO-${i}`,
  message,
  code: null,
  occurredAt: '2026-12-03T10:00:00.000Z',
  count: 1,
  url: `https://app.test/environments/prod/errors/${i + 1}`,
});
const digest = (firstNew: ErrorLine[], newErrors = firstNew.length, firstResolved: ErrorLine[] = []): DigestEvent => ({
  type: 'herald.digest',
  version: 1,
  timestamp: '2026-12-03T10:00:00.000Z',
  data: {
    account: { id: 'acme', name: 'Acme' },
    environment: { id: 'staging', name: 'Staging', production: false },
    cycle: 7,
    newErrors,
    resolvedErrors: firstResolved.length,
    openErrors: newErrors,
    firstNew,
    firstResolved,
    url: 'https://app.test/environments/staging/errors?status=open',
  },
});

/** Text of any length up to `max`, often of 4-byte characters (the bytes a card counts). */
const text = (max: number) => fc.string({ unit: fc.constantFrom('😀', 'a', '"', '\\', 'é', ' ', '{', '}'), maxLength: max });
/** The texts of every TextRun of a card. */
const runTexts = (value: unknown): string[] =>
  Array.isArray(value) ? value.flatMap(runTexts)
  : value && typeof value === 'object' ? [...('type' in value && value.type === 'TextRun' && 'text' in value ? [String(value.text)] : []), ...Object.values(value).flatMap(runTexts)]
  : [];

describe('S43: channel formats and checks', () => {
  it('S43: Slack text escapes &, < and > and never leaves one raw, whatever the error says', () => {
    expect(slackText('<!here> a & b <https://x|y>')).toBe('&lt;!here&gt; a &amp; b &lt;https://x|y&gt;');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 600 }), (text) => {
        const escaped = slackText(text);
        expect(escaped.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[<>&]/);
        expect(escaped).not.toMatch(/[\r\n]/);
      }),
    );
  });

  it('S48: Slack shows an error\'s formatting characters as written: each is followed by a zero-width space, whatever the error says', () => {
    expect(slackText('*bold* _it_ ~st~ `code`')).toBe('*\u200bbold*\u200b _\u200bit_\u200b ~\u200bst~\u200b `\u200bcode`\u200b');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 600 }), (text) => {
        expect(slackText(text)).not.toMatch(/[*_~`](?!\u200b)/u);
      }),
    );
  });

  it('S45: a Slack line\'s actions stay whole however long the line, each a link to the act page (generated)', () => {
    const actions: LineActions = (l) => ['Resolve', 'Snooze for a day', 'Assign to me'].map((label, i) => ({ label, url: `https://app.test/act/${'t'.repeat(180)}.${l.errorId}-${i}` }));
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('&', '<', '*', 'a', '😀'), maxLength: 600 }), { minLength: 1, maxLength: 10 }), (messages) => {
        const { blocks } = slackMessage(digest(messages.map((m, i) => line(m, i))), actions);
        const linkTexts = (blocks as { type: string; elements?: { text: string }[] }[]).filter((b) => b.type === 'context' && b.elements![0]!.text.includes('/act/'));
        expect(linkTexts).toHaveLength(messages.length);
        for (const b of linkTexts) {
          expect([...b.elements![0]!.text.matchAll(/<(https:\/\/app\.test\/act\/t{180}\.\d+-\d)\|([^>]+)>/g)].map((m) => m[2])).toEqual(['Resolve', 'Snooze for a day', 'Assign to me']);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('S43: a Slack message has at most 50 blocks and names a non-production environment', () => {
    const message = slackMessage(digest(Array.from({ length: 80 }, (_, i) => line(`Failure ${i}`, i)), 500));
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(message.text).toBe('Herald digest: 500 new, 0 resolved, 500 open in Staging (non-production)');
    expect(JSON.stringify(message.blocks.at(-2))).toContain('more on the errors page');
  });

  it('S43: a Teams card stays within its size (28 KB; smaller ones tried too) and counts what it left out, for any error texts', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text(600), text(150), text(150)), { maxLength: 20 }), fc.nat(10_000), fc.constantFrom(teamsMaxBytes, 12_000, 4_000), (fields, extra, maxBytes) => {
        const lines = fields.map(([message, traceKey, flow], i) => ({ ...line(message, i), traceKey, flow, integration: flow }));
        const card = teamsMessage(digest(lines.slice(0, 10), Math.min(lines.length, 10) + extra, lines.slice(10)), maxBytes);
        const json = JSON.stringify(card);
        expect(Buffer.byteLength(json)).toBeLessThanOrEqual(maxBytes);
        const shown = (json.match(/"selectAction"/g) ?? []).length;
        // Adaptive Card date functions ({{DATE(…)}}) never come from an error's text.
        expect(runTexts(card).filter((t) => t.includes('{{'))).toEqual([]);
        const more = lines.length + extra - shown;
        if (more > 0) expect(json).toContain(`and ${more} more on the errors page`);
        else expect(json).not.toContain('more on the errors page');
      }),
      { numRuns: 100 },
    );
    // The most a digest can hold (20 lines, every text at its limit, in 4-byte characters) is over 28 KB: lines go, and are counted.
    const longest = Array.from({ length: 10 }, (_, i) => ({ ...line('😀'.repeat(600), i), traceKey: '😀'.repeat(150), flow: '😀'.repeat(150), integration: '😀'.repeat(150) }));
    const fullest = JSON.stringify(teamsMessage(digest(longest, 10, longest)));
    expect(Buffer.byteLength(fullest)).toBeLessThanOrEqual(teamsMaxBytes);
    const kept = (fullest.match(/"selectAction"/g) ?? []).length;
    expect(kept).toBeLessThan(20);
    expect(fullest).toContain(`and ${20 - kept} more on the errors page`);
    // Text goes in TextRuns, which Teams shows as written: Markdown stays text.
    expect(JSON.stringify(teamsMessage(digest([line('**bold** [x](https://evil.test)')])))).toContain('"type":"TextRun","text":"**bold** [x](https://evil.test)"');
    // Nor as a date: "{{" is broken by a word joiner, and reads the same.
    expect(runTexts(teamsMessage(digest([line('Due {{DATE(2030-01-01T00:00:00Z, SHORT)}}')])))).toContain('Due {\u2060{DATE(2030-01-01T00:00:00Z, SHORT)}}');
  });

  it('S43: a channel URL on any private, loopback, link-local or reserved IPv4 address is refused; a public one over HTTPS is taken', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const privateAddress = fc.oneof(
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`),
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `127.${a}.${b}.${c}`),
      fc.tuple(fc.integer({ min: 16, max: 31 }), octet, octet).map(([a, b, c]) => `172.${a}.${b}.${c}`),
      fc.tuple(octet, octet).map(([a, b]) => `192.168.${a}.${b}`),
      fc.tuple(octet, octet).map(([a, b]) => `169.254.${a}.${b}`),
      fc.tuple(fc.integer({ min: 64, max: 127 }), octet, octet).map(([a, b, c]) => `100.${a}.${b}.${c}`),
    );
    fc.assert(
      fc.property(privateAddress, (address) => {
        expect(channelUrlProblem(`https://${address}/hook`, policy)).toMatch(/private, loopback or reserved/);
      }),
    );
    expect(channelUrlProblem('https://[fd00::1]/x', policy)).toMatch(/private/);
    expect(channelUrlProblem('https://[fe80::1]/x', policy)).toMatch(/private/);
    expect(channelUrlProblem('https://hooks.slack.com/services/T/B/x', policy)).toBeUndefined();
    expect(channelUrlProblem('https://93.184.216.34/hook', policy)).toBeUndefined();
    expect(channelUrlProblem('http://hooks.slack.com/services/T/B/x', policy)).toBe('must use https://');
    expect(channelUrlProblem('ftp://93.184.216.34/x', policy)).toBe('must use https://');
    // Allowed addresses (local receivers), over HTTP too; nothing else is.
    expect(channelUrlProblem('http://127.0.0.1:9000/x', { allow: ['127.0.0.1'] })).toBeUndefined();
    expect(channelUrlProblem('http://10.1.2.3/x', { allow: ['10.0.0.0/8'] })).toBeUndefined();
    expect(channelUrlProblem('http://127.0.0.2/x', { allow: ['127.0.0.1'] })).toBe('must use https://');
    expect(channelUrlProblem(`https://a.test/${'x'.repeat(2_000)}`, policy)).toMatch(/at most 2000/);
  });

  it('S43: Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs('Thu, 03 Dec 2026 10:02:00 GMT', Date.parse('2026-12-03T10:00:00Z'))).toBe(120_000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(undefined)).toBeNull();
  });

  it('S43: a webhook request is a versioned event signed per Standard Webhooks, with the same id on every attempt', () => {
    const secret = newWebhookSecret();
    const event = digest([line('Customer not found')]);
    const message = { id: 42, publicId: '5f0c2d4e-8a1b-4c7d-9e3f-6a2b1c0d9e8f', channel: { id: 1, kind: 'webhook' as const, url: 'https://x.test', secret, removed: false } };
    const [first] = channelRequests(message, event);
    const [again] = channelRequests(message, event, new Date(Date.now() + 1_000));
    expect(first!.headers['webhook-id']).toBe('msg_5f0c2d4e-8a1b-4c7d-9e3f-6a2b1c0d9e8f');
    expect(again!.headers['webhook-id']).toBe('msg_5f0c2d4e-8a1b-4c7d-9e3f-6a2b1c0d9e8f');
    expect(digestEventSchema.parse(new Webhook(secret).verify(first!.body, first!.headers))).toEqual(event);
    expect(() => new Webhook(newWebhookSecret()).verify(first!.body, first!.headers)).toThrow();
  });
});
