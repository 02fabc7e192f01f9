/**
 * The tokens of links that act without sign-in (unsubscribe, S25; an email's actions, S45): a JSON
 * payload in base64url and its HMAC-SHA256 under HERALD_SECRET, the HMAC keyed by what the token is
 * for, so a token of one kind never reads as another's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const signature = (secret: string, purpose: string, payload: string) => createHmac('sha256', secret).update(`${purpose}:${payload}`).digest('base64url');

export function signedToken(secret: string, purpose: string, content: unknown): string {
  const payload = Buffer.from(JSON.stringify(content)).toString('base64url');
  return `${payload}.${signature(secret, purpose, payload)}`;
}

/** What a token of `purpose` carries, or undefined when it is altered, of another purpose, or not one of Herald's. */
export function readSignedToken(secret: string, purpose: string, token: string): Record<string, unknown> | undefined {
  const [payload, signed, ...rest] = token.split('.');
  if (!payload || !signed || rest.length > 0) return undefined;
  const expected = Buffer.from(signature(secret, purpose, payload));
  const given = Buffer.from(signed);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    const content: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString());
    return typeof content === 'object' && content !== null ? (content as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
