/**
 * "My messages" (S27's "My emails"): every email Herald sent a person, or tried to, and each one again as it was
 * sent; and what was posted for them to the channel their subscriptions go to (S43, S49).
 */
import type { FastifyInstance } from 'fastify';
import { createPageStore, type EmailLine } from '../../stores/page-store.js';
import { composeSentEmail } from '../../notifications/sent-email.js';
import { notFound, page, signedIn, urlId, type PageDeps } from '../page.js';
import { pageTime } from '../page-renderer.js';
import { channelKindName } from '../../contracts/channel.js';
import { kindNames } from '../../notifications/kinds.js';

const statusText = (line: EmailLine) =>
  line.status === 'sent'
    ? `sent ${line.sentAt ? pageTime(line.sentAt) : ''}`
    : line.status === 'failed'
      ? `refused by the mail server: ${line.lastError ?? ''}`
      : line.status === 'cancelled'
        ? `not sent: ${line.lastError ?? ''}`
        : line.heldUntil && !line.lastError
          ? `held for your quiet hours, until ${pageTime(line.heldUntil)}`
          : `waiting${line.lastError ? `: ${line.lastError}` : ''}`;

/** How a post to a channel went, in the words of "messages". */
const postStatusText = (line: EmailLine) =>
  line.status === 'sent'
    ? `posted ${line.sentAt ? pageTime(line.sentAt) : ''}`
    : line.status === 'failed'
      ? `refused by the channel: ${line.lastError ?? ''}`
      : line.status === 'cancelled'
        ? (line.lastError ?? 'not posted')
        : line.post?.retryAt
          ? `refused for now (${line.lastError ?? 'no answer'}); tried again ${pageTime(line.post.retryAt)}`
          : 'waiting to be posted';

/** What a post is called: its kind, and where it went. */
const postTitle = (line: EmailLine) =>
  `${line.kind === 'digest' ? `Digest ${line.cycle} of ${line.environmentName}` : `${kindNames[line.kind]}, ${line.environmentName}`}, posted to ${line.post!.channel} (${channelKindName(line.post!.channelKind)})`;

/** The lines of "My messages" as the page shows them: what each is called, how it ended, why a cycle sent none; posts to their channel beside the emails. */
export function emailPageLines(lines: EmailLine[]) {
  return lines.map((line) => ({
    ...line,
    ...(line.post && { postTitle: postTitle(line) }),
    statusText: line.post ? postStatusText(line) : line.deliveryId ? statusText(line) : '',
    kindName: kindNames[line.kind],
    quietRun: line.quietCycles > 1,
    why: line.nothingNew ? 'Nothing was new or resolved in the flows you followed.' : `You followed no flow of ${line.environmentName} then.`,
  }));
}

export function emailPages(app: FastifyInstance, deps: PageDeps): void {
  const store = createPageStore(deps.db);

  app.get('/emails', async (request, reply) => {
    const person = signedIn(request);
    const lines = emailPageLines(await store.emails(person, 100));
    return page(reply, 'emails', { title: 'My messages', wide: true, person, lines });
  });

  app.get<{ Params: { id: string } }>('/emails/:id', async (request, reply) => {
    const person = signedIn(request);
    const id = urlId(request.params.id);
    const email = id === undefined ? undefined : await store.email(person.id, id);
    if (!email) return notFound(reply, person);
    const { html } = await composeSentEmail(deps.db, { ...email, userId: person.id }, deps.appUrl, deps.secret);
    // The email is shown as a document of its own, sandboxed: it runs nothing and reaches nothing.
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .send(html);
  });
}
