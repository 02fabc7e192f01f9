/**
 * What a link of a message acts on (S45): the action, one error or its group, the message, and
 * who may act — an email's recipient, or whoever signs in from a Slack or Teams channel's message.
 */
export const emailActions = ['resolve', 'snooze', 'assign'] as const;
export type EmailAction = (typeof emailActions)[number];
/** One error, or the group of one (its flow's errors of the same fingerprint, S42). */
export type ActionTarget = 'error' | 'group';

/** What each action's link says, on an error's line and on a group's. */
export const actionLabels: Record<ActionTarget, Record<EmailAction, string>> = {
  error: { resolve: 'Resolve', snooze: 'Snooze for a day', assign: 'Assign to me' },
  group: { resolve: 'Resolve all', snooze: 'Snooze all for a day', assign: 'Assign all to me' },
};

/** An email's or a channel message's public id, as a link names it. */
const publicIdShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface EmailActionLink {
  /** The recipient. */
  userId: number;
  /** The email: its delivery's public id. */
  emailId: string;
  action: EmailAction;
  target: ActionTarget;
  errorId: number;
}

/**
 * A link of a channel's message: a channel is read by many, so the link names no person; whoever
 * follows it signs in, and acts as themselves if their role allows.
 */
export interface ChannelActionLink {
  channelId: number;
  /** The message: its public id (a webhook's `webhook-id`). */
  messageId: string;
  action: EmailAction;
  target: ActionTarget;
  errorId: number;
}

/** Where a person acted from, when not on a page, the API or the command line: an email, or a Slack or Teams message. */
export const actionSources = ['email', 'slack', 'teams'] as const;
export type ActionSource = (typeof actionSources)[number];

const sourceWords: Record<ActionSource, string> = { email: 'from an email', slack: 'from Slack', teams: 'from Microsoft Teams' };

/** "from an email", "from Slack", …: how pages and digests say where an action came from; nothing for none. */
export const actionSourceWords = (via: string | null | undefined): string => (via && via in sourceWords ? sourceWords[via as ActionSource] : '');

/**
 * What every action link's token carries (`m`, `a`, `g`, `i`): the email's or message's public id,
 * the action, its target and the error, if they are ones Herald makes. Who may act (`u`, `c`) is each kind's own.
 */
export function actionOfToken(content: Record<string, unknown>): (Pick<EmailActionLink, 'action' | 'target' | 'errorId'> & { publicId: string }) | undefined {
  const { m, a, g, i } = content;
  if (typeof m !== 'string' || !publicIdShape.test(m) || !Number.isSafeInteger(i) || !emailActions.includes(a as EmailAction) || (g !== 'error' && g !== 'group')) return undefined;
  return { publicId: m, action: a as EmailAction, target: g, errorId: i as number };
}
