/**
 * Acting from an email (S45): each error and group row of an email carries the actions its
 * recipient may take — resolve, snooze for a day, assign to me — as links whose token names the
 * recipient, the action, the error (or the error whose group it is) and the email, signed with
 * HERALD_SECRET: none can be altered or turned to another person, action, error or email. A link
 * opens a page that acts only on a POST; it works until it is used or its email is 7 days old.
 */
import { readSignedToken, signedToken } from '../contracts/signed-token.js';
import { actionLabels, actionOfToken, emailActions, type ActionTarget, type EmailAction, type EmailActionLink } from '../contracts/email-action.js';

export { emailActions, type ActionTarget, type EmailAction, type EmailActionLink };

/** How long an email's links act. */
export const emailActionLifetimeMs = 7 * 24 * 60 * 60_000;

export function emailActionToken(secret: string, link: EmailActionLink): string {
  return signedToken(secret, 'email-action', { u: link.userId, m: link.emailId, a: link.action, g: link.target, i: link.errorId });
}

/** The action a token carries, or undefined when it is altered or not one of Herald's. */
export function readEmailActionToken(secret: string, token: string): EmailActionLink | undefined {
  const content = readSignedToken(secret, 'email-action', token);
  if (!content) return undefined;
  const acts = actionOfToken(content);
  if (!acts || !Number.isSafeInteger(content.u)) return undefined;
  const { publicId, ...action } = acts;
  return { userId: content.u as number, emailId: publicId, ...action };
}

/**
 * Stands in for a recipient's own link of an action in a rendering shared by several recipients;
 * {@link emailActionLinks}' `own` makes it theirs.
 */
export function actionPlaceholder(action: EmailAction, target: ActionTarget, errorId: number): string {
  return `https://act.invalid/${action}/${target}/${errorId}`;
}
const placeholders = /https:\/\/act\.invalid\/(resolve|snooze|assign)\/(error|group)\/(\d+)/g;

/** The actions of one row, as an email's model lists them: none for a recipient who may not act. */
export function rowActions(canAct: boolean, target: ActionTarget, errorId: number, actions: readonly EmailAction[] = emailActions): { label: string; url: string }[] {
  if (!canAct) return [];
  return actions.map((action) => ({ label: actionLabels[target][action], url: actionPlaceholder(action, target, errorId) }));
}

/** An email's action links all leading to `url` (a page where the person signs in and acts): for a preview, which is no email. */
export function actionsLeadTo<T extends { html: string; text: string }>(email: T, url: string): T {
  return { ...email, html: email.html.replace(placeholders, url), text: email.text.replace(placeholders, url) };
}

/** Makes the action links of emails rendered with placeholders their recipients' own. */
export type EmailActionLinks = ReturnType<typeof emailActionLinks>;

export function emailActionLinks(appUrl: string, secret: string) {
  const base = appUrl.replace(/\/+$/, '');
  return {
    /**
     * Each action's link signed for this recipient and this email. An email without an id (planned
     * before emails had one) links the page `fallbackUrl` instead, where the person signs in and acts.
     */
    own<T extends { html: string; text: string }>(email: T, recipient: { userId: number; emailId: string | null }, fallbackUrl: string): T {
      const { emailId } = recipient;
      if (emailId === null) return actionsLeadTo(email, fallbackUrl);
      const link = (_: string, action: EmailAction, target: ActionTarget, errorId: string) =>
        `${base}/act/${emailActionToken(secret, { userId: recipient.userId, emailId, action, target, errorId: Number(errorId) })}`;
      return { ...email, html: email.html.replace(placeholders, link), text: email.text.replace(placeholders, link) };
    },
  };
}
