/**
 * Acting from a Slack or Teams message (S45): each error line of a digest, reminder or assignment
 * posted to a channel carries the actions an email's row does, as links to the same pages. A
 * channel is read by many, so its links name no person: the token names the channel, the message,
 * the action and the error (or its group), signed with HERALD_SECRET; whoever follows one signs
 * in and acts as themselves, if their role allows.
 */
import { readSignedToken, signedToken } from '../contracts/signed-token.js';
import { actionLabels, actionOfToken, emailActions, type ChannelActionLink } from '../contracts/email-action.js';
import type { ErrorLine } from './events.js';
import type { LineActions, OutgoingMessage } from './transport.js';

export function channelActionToken(secret: string, link: ChannelActionLink): string {
  return signedToken(secret, 'channel-action', { c: link.channelId, m: link.messageId, a: link.action, g: link.target, i: link.errorId });
}

/** The action a token carries, or undefined when it is altered or not one of Herald's. */
export function readChannelActionToken(secret: string, token: string): ChannelActionLink | undefined {
  const content = readSignedToken(secret, 'channel-action', token);
  if (!content) return undefined;
  const acts = actionOfToken(content);
  if (!acts || !Number.isSafeInteger(content.c)) return undefined;
  const { publicId, ...action } = acts;
  return { channelId: content.c as number, messageId: publicId, ...action };
}

/**
 * The actions of each line of `message`: on its error, or on its group for a line that stands for
 * several. None for a message planned before messages had public ids.
 */
export function channelActionLinks(appUrl: string, secret: string, message: OutgoingMessage): LineActions {
  const messageId = message.publicId;
  if (!messageId) return () => [];
  const base = appUrl.replace(/\/+$/, '');
  return (line: ErrorLine) => {
    const target = line.count > 1 ? 'group' : 'error';
    return emailActions.map((action) => ({
      label: actionLabels[target][action],
      url: `${base}/act/${channelActionToken(secret, { channelId: message.channel.id, messageId, action, target, errorId: line.errorId })}`,
    }));
  };
}
