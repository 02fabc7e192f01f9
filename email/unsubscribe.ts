/**
 * One-click unsubscribe (S25, RFC 8058): every email carries a link whose token names exactly
 * what it ends (one user's error emails of one environment, one connection's emails there, or
 * their weekly review of it), signed with HERALD_SECRET, so it can be neither altered nor turned
 * to another user or scope. Tokens stay good for 90 days after the email.
 */
import { readSignedToken, signedToken } from '../contracts/signed-token.js';

/** What an unsubscribe ends: the error emails (digests) of an environment, one connection's emails, or the weekly review (S47). */
export type UnsubscribeScope = { kind: 'errors' } | { kind: 'connection'; connection: string } | { kind: 'weekly' };

export interface UnsubscribeRequest {
  userId: number;
  environment: string;
  scope: UnsubscribeScope;
}

const lifetimeSeconds = 90 * 24 * 60 * 60;

export function unsubscribeToken(secret: string, request: UnsubscribeRequest, now = new Date()): string {
  const { userId, environment, scope } = request;
  // A weekly review's token says so (`w`); tokens of the other kinds read as they always have.
  const kind = scope.kind === 'weekly' ? { w: 1 } : {};
  return signedToken(secret, 'unsubscribe', { u: userId, e: environment, c: scope.kind === 'connection' ? scope.connection : null, ...kind, t: Math.floor(now.getTime() / 1000) });
}

/** The request a token carries, or undefined when it is altered, foreign or expired. */
export function readUnsubscribeToken(secret: string, token: string, now = new Date()): UnsubscribeRequest | undefined {
  const content = readSignedToken(secret, 'unsubscribe', token);
  if (!content) return undefined;
  const { u, e, c, w, t } = content as { u: number; e: string; c: string | null; w?: 1; t: number };
  if (now.getTime() / 1000 - t > lifetimeSeconds) return undefined;
  return { userId: u, environment: e, scope: w === 1 ? { kind: 'weekly' } : c === null ? { kind: 'errors' } : { kind: 'connection', connection: c } };
}

/** Builds the links and headers of one email's unsubscribe. */
export type UnsubscribeLinks = ReturnType<typeof unsubscribeLinks>;

export function unsubscribeLinks(appUrl: string, secret: string) {
  const base = appUrl.replace(/\/+$/, '');
  return {
    url: (request: UnsubscribeRequest) => `${base}/unsubscribe/${unsubscribeToken(secret, request)}`,
    /** RFC 8058: a mail client may end the subscription with one POST, no page in between. */
    headers: (url: string): Record<string, string> => ({ 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }),
  };
}

/** Stands in for a user's own unsubscribe link in a rendering shared by several users. */
export const unsubscribePlaceholder = 'https://unsubscribe.invalid/herald-user-link';

/** An email rendered with the placeholder, made the user's own: their link in the text and the headers. */
export function withUnsubscribe<T extends { html: string; text: string; headers?: Record<string, string> }>(
  email: T,
  links: UnsubscribeLinks,
  request: UnsubscribeRequest,
): T {
  const url = links.url(request);
  return {
    ...email,
    html: email.html.replaceAll(unsubscribePlaceholder, url),
    text: email.text.replaceAll(unsubscribePlaceholder, url),
    headers: { ...email.headers, ...links.headers(url) },
  };
}
