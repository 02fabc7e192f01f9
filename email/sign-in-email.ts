/** The email that carries sign-in links (S22): one per account the address is a user of. */
import { randomUUID } from 'node:crypto';
import type { OutgoingEmail } from './mailer.js';
import { renderEmail } from './render.js';

export async function signInEmail(email: string, links: { url: string; account: string; accountName: string }[]): Promise<OutgoingEmail> {
  const subject = 'Your Herald sign-in link';
  const rendered = await renderEmail('sign-in', { subject, email, links });
  return { to: email, subject, ...rendered, messageId: `<sign-in.${randomUUID()}@herald>` };
}
