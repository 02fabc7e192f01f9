/**
 * Microsoft Teams (S43): an event as an Adaptive Card (1.4) in the message a Teams workflow
 * webhook takes. Text from errors goes in TextRuns of RichTextBlocks, which Teams shows as
 * written (no Markdown, no date functions), on one line and cut; lines are dropped from the end
 * while the payload is over Teams' 28 KB, with a line that says how many more there are.
 */
import { messageText, messageTextLimits as limits, thresholdText } from '../contracts/message-text.js';
import { environmentLabel, type ChannelEvent, type ErrorLine } from './events.js';
import { noLineActions, oneJsonPost, type LineActions } from './transport.js';

/** Teams refuses a message over 28 KB. */
export const teamsMaxBytes = 28 * 1024;

/**
 * Text shown as written: a run of a RichTextBlock, on one line, cut. Each "{" before another is
 * followed by a word joiner, so that `{{DATE(…)}}` and `{{TIME(…)}}` in an error's text are not
 * shown as a date.
 */
const run = (text: string, more: Record<string, unknown> = {}) => ({ type: 'TextRun', text: text.replace(/\{(?=\{)/g, '{\u2060'), ...more });
const rich = (...inlines: object[]) => ({ type: 'RichTextBlock', inlines });
const heading = (text: string) => rich(run(text, { weight: 'Bolder', size: 'Medium' }));

/** An error's line; with the links that act on it (S45), for a line whose error may still be acted on. */
function errorBlock(line: ErrorLine, actions: LineActions = noLineActions): object {
  const acts = actions(line);
  return {
    type: 'Container',
    selectAction: { type: 'Action.OpenUrl', url: line.url },
    items: [
      rich(run(`${line.count > 1 ? `${line.count} × ` : ''}${messageText(line.message, limits.message)}`, { weight: 'Bolder' })),
      rich(
        run(`${messageText(line.integration, limits.name)} › ${messageText(line.flow, limits.name)} · trace key ${messageText(line.traceKey, limits.traceKey)}` +
          (line.code ? ` · code ${messageText(line.code, limits.code)}` : ''), { isSubtle: true }),
      ),
      ...(acts.length > 0 ? [{ type: 'ActionSet', actions: acts.map((a) => ({ type: 'Action.OpenUrl', title: a.label, url: a.url })) }] : []),
    ],
  };
}

function card(body: object[], action: { title: string; url: string }) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [{ type: 'Action.OpenUrl', title: action.title, url: action.url }],
        },
      },
    ],
  };
}

const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The Teams message of an event, within `maxBytes` (default {@link teamsMaxBytes}: 20 lines of long
 * text in 4-byte characters are over it); `actions`: the links its new, reminded and assigned errors' lines carry (S45).
 */
export function teamsMessage(event: ChannelEvent, maxBytes = teamsMaxBytes, actions: LineActions = noLineActions): object {
  const env = environmentLabel(event.data.environment);
  if (event.type === 'herald.digest') {
    const d = event.data;
    const head = [
      heading(`Herald digest: ${d.newErrors} new, ${d.resolvedErrors} resolved, ${d.openErrors} open`),
      rich(run(`${messageText(d.account.name, limits.name)}, ${messageText(env, limits.name)}`, { isSubtle: true })),
    ];
    // Each block with the errors it stands for (a heading, none): what is dropped is counted in "more".
    const lines: { block: object; count: number }[] = [
      ...(d.firstNew.length > 0 ? [{ block: heading('New errors'), count: 0 }, ...d.firstNew.map((l) => ({ block: errorBlock(l, actions), count: l.count }))] : []),
      ...(d.firstResolved.length > 0 ? [{ block: heading('Resolved'), count: 0 }, ...d.firstResolved.map((l) => ({ block: errorBlock(l), count: l.count }))] : []),
    ];
    for (let kept = lines.length; ; kept -= 1) {
      const shown = lines.slice(0, kept).reduce((n, l) => n + l.count, 0);
      const more = d.newErrors + d.resolvedErrors - shown;
      const tail = more > 0 ? [rich(run(`and ${more} more on the errors page`, { isSubtle: true }))] : [];
      const message = card([...head, ...lines.slice(0, kept).map((l) => l.block), ...tail], { title: 'Open errors', url: d.url });
      if (size(message) <= maxBytes || kept === 0) return message;
    }
  }
  if (event.type === 'herald.errors.reminder' || event.type === 'herald.errors.assigned') {
    const reminder = event.type === 'herald.errors.reminder';
    const lines = reminder ? event.data.first : event.data.errors;
    const title = reminder
      ? `${event.data.count} error${event.data.count === 1 ? '' : 's'} open longer than ${thresholdText(event.data.openLongerThanMs)}`
      : `${messageText(event.data.assignedBy, limits.name)} assigned ${event.data.count} error${event.data.count === 1 ? '' : 's'} to ${messageText(event.data.assignee, limits.name)}`;
    const more = event.data.count - lines.length;
    return card(
      [
        heading(title),
        rich(run(`${messageText(event.data.account.name, limits.name)}, ${messageText(env, limits.name)}`, { isSubtle: true })),
        ...lines.map((line) => errorBlock(line, actions)),
        ...(more > 0 ? [rich(run(`and ${more} more on the errors page`, { isSubtle: true }))] : []),
      ],
      { title: 'Open errors', url: event.data.url },
    );
  }
  const d = event.data;
  const status = d.status === 'offline' ? 'offline' : 'back online';
  return card(
    [
      heading(`Connection ${messageText(d.connection.name, limits.name)} is ${status}`),
      rich(run(`${messageText(d.account.name, limits.name)}, ${messageText(env, limits.name)} · since ${event.timestamp}`, { isSubtle: true })),
      ...(d.reason ? [rich(run(`Reason: ${messageText(d.reason, limits.message)}`))] : []),
      ...(d.status === 'offline' ? [rich(run(`${d.errorsSince} errors since in the flows that use it`))] : []),
      ...d.usedBy.map((u) => rich(run(`${messageText(u.integration, limits.name)}: ${u.flows.map((f) => messageText(f, limits.name)).join(', ')}`))),
    ],
    { title: 'Open connection', url: d.url },
  );
}

/** Teams' transport: the card, posted to the workflow webhook. */
export const teamsTransport = oneJsonPost((event, actions) => teamsMessage(event, teamsMaxBytes, actions));
