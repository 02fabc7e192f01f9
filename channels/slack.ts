/**
 * Slack (S43): an event as a Block Kit message for an incoming webhook. Text from errors goes
 * through mrkdwn escaping (`&`, `<`, `>`: what Slack reads as links, mentions and entities) on one
 * line, cut to Slack's limits (a section's text 3,000 characters, a header's 150, at most 50
 * blocks); `text` is the notification's fallback.
 */
import { messageText, messageTextLimits as limits, thresholdText } from '../contracts/message-text.js';
import { environmentLabel, type ChannelEvent, type ErrorLine } from './events.js';
import { noLineActions, oneJsonPost, type LineActions } from './transport.js';

export const slackLimits = { blocks: 50, sectionText: 3_000, headerText: 150, buttonText: 75 } as const;

/**
 * Text for mrkdwn: one line, cut to `limit`, with Slack's control characters escaped, and its
 * formatting characters (`*`, `_`, `~`, a backtick) followed by a zero-width space, so that they
 * show as written and neither format the error's text nor end the bold of a link around it.
 */
export function slackText(value: string, limit: number = limits.message): string {
  return messageText(value, limit)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replace(/[*_~`]/gu, '$&\u200b');
}

/** A plain_text value (not parsed by Slack), on one line and cut. */
const plain = (value: string, limit: number) => messageText(value, limit);

const section = (mrkdwn: string) => ({ type: 'section', text: { type: 'mrkdwn', text: mrkdwn.slice(0, slackLimits.sectionText) } });

/**
 * An error's line; with the links that act on it (S45), for a line whose error may still be acted
 * on, in a block of their own: however long the line's text, the section's cut never reaches them.
 */
function errorBlocks(line: ErrorLine, actions: LineActions = noLineActions): object[] {
  const times = line.count > 1 ? `${line.count} × ` : '';
  const acts = actions(line).map((a) => `<${a.url}|${a.label}>`);
  return [
    section(
      `${times}*<${line.url}|${slackText(line.message)}>*\n` +
        `${slackText(line.integration, limits.name)} › ${slackText(line.flow, limits.name)} · trace key \`${slackText(line.traceKey, limits.traceKey)}\`` +
        (line.code ? ` · code ${slackText(line.code, limits.code)}` : ''),
    ),
    ...(acts.length > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: acts.join(' · ') }] }] : []),
  ];
}

/** The Block Kit message of an event; `actions`: the links its new, reminded and assigned errors' lines carry (S45). */
export function slackMessage(event: ChannelEvent, actions: LineActions = noLineActions): { text: string; blocks: object[] } {
  const env = environmentLabel(event.data.environment);
  if (event.type === 'herald.digest') {
    const d = event.data;
    const title = `Herald digest: ${d.newErrors} new, ${d.resolvedErrors} resolved, ${d.openErrors} open in ${env}`;
    const blocks: object[] = [
      { type: 'header', text: { type: 'plain_text', text: plain(title, slackLimits.headerText) } },
      section(`*${d.newErrors}* new · *${d.resolvedErrors}* resolved · *${d.openErrors}* open — ${slackText(d.account.name, limits.name)}, ${slackText(env, limits.name)}`),
    ];
    if (d.firstNew.length > 0) blocks.push(section('*New errors*'), ...d.firstNew.flatMap((line) => errorBlocks(line, actions)));
    if (d.firstResolved.length > 0) blocks.push(section('*Resolved*'), ...d.firstResolved.flatMap((line) => errorBlocks(line)));
    const shown = d.firstNew.reduce((n, l) => n + l.count, 0) + d.firstResolved.reduce((n, l) => n + l.count, 0);
    const more = d.newErrors + d.resolvedErrors - shown;
    const tail: object[] = [];
    if (more > 0) tail.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${more} more on the errors page` }] });
    tail.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open errors' }, url: d.url }] });
    return { text: plain(title, slackLimits.sectionText), blocks: [...blocks.slice(0, slackLimits.blocks - tail.length), ...tail] };
  }
  if (event.type === 'herald.errors.reminder' || event.type === 'herald.errors.assigned') {
    const reminder = event.type === 'herald.errors.reminder';
    const d = event.data;
    const lines = reminder ? event.data.first : event.data.errors;
    const title = reminder
      ? `${event.data.count} error${event.data.count === 1 ? '' : 's'} open longer than ${thresholdText(event.data.openLongerThanMs)} in ${env}`
      : `${event.data.assignedBy} assigned ${event.data.count} error${event.data.count === 1 ? '' : 's'} to ${event.data.assignee} in ${env}`;
    const more = d.count - lines.length;
    return {
      text: plain(title, slackLimits.sectionText),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: plain(title, slackLimits.headerText) } },
        ...lines.flatMap((line) => errorBlocks(line, actions)),
        ...(more > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${more} more on the errors page` }] }] : []),
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open errors' }, url: d.url }] },
      ],
    };
  }
  const d = event.data;
  const name = slackText(d.connection.name, limits.name);
  const title = `Connection ${plain(d.connection.name, limits.name)} is ${d.status === 'offline' ? 'offline' : 'back online'} (${env})`;
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: plain(title, slackLimits.headerText) } },
    section(
      `*${name}* is ${d.status === 'offline' ? '*offline*' : '*back online*'} since ${event.timestamp}` +
        (d.reason ? `\nReason: ${slackText(d.reason)}` : '') +
        (d.status === 'offline' ? `\n${d.errorsSince} errors since in the flows that use it` : ''),
    ),
  ];
  if (d.usedBy.length > 0) {
    blocks.push(section(d.usedBy.map((u) => `${slackText(u.integration, limits.name)}: ${u.flows.map((f) => slackText(f, limits.name)).join(', ')}`).join('\n')));
  }
  blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open connection' }, url: d.url }] });
  return { text: title, blocks };
}

/** Slack's transport: the message, posted to the incoming webhook. */
export const slackTransport = oneJsonPost(slackMessage);
