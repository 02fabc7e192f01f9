import { messageText, messageTextLimits as limits } from '../contracts/message-text.js';

/**
 * What every Herald email shares: the header's environment line and the footer (the partials'
 * `account` and `environment`), the subject prefix that names a non-production environment
 * (S13), and links into the platform under the environment.
 */
export function emailFrame(
  appUrl: string,
  environment: { id: string; name: string; production: boolean },
  account: { name: string },
) {
  const base = `${appUrl.replace(/\/+$/, '')}/environments/${encodeURIComponent(environment.id)}`;
  const environmentName = messageText(environment.name, limits.name);
  return {
    subjectPrefix: environment.production ? '' : `[${environmentName}] `,
    /** A link to `path` (already URL-safe) under the environment. */
    link: (path: string) => `${base}/${path}`,
    account: { name: messageText(account.name, limits.name) },
    environment: { name: environmentName, nonProduction: !environment.production },
    /** An error as the emails that list errors show it: its text cut to length, and a link to its page. */
    error: (error: { id: number; message: string; traceKey: string; flowName: string }) => ({
      message: messageText(error.message, limits.message),
      traceKey: messageText(error.traceKey, limits.traceKey),
      flowName: messageText(error.flowName, limits.name),
      url: `${base}/errors/${error.id}`,
    }),
  };
}

/**
 * The Message-ID of one of Herald's emails, the same for every attempt, so a receiver can spot a
 * resend: its kind and its delivery's random id (S49: no other installation, nor this one after
 * a restore, ever sends it for another email). An email planned before such ids keeps the one its
 * earlier attempts carried: its kind, `key` (a digest's cycle, a delivery) and person.
 */
export function heraldMessageId(kind: string, publicId: string | null, key: number, userId: number, installation: string): string {
  return publicId ? `<${kind}.${publicId}@${installation}.herald>` : `<${kind}.${key}.${userId}@${installation}.herald>`;
}

/** A time as emails show it: `2026-11-27 10:15 UTC`. */
export function emailTime(time: Date): string {
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
