import { emailText, emailTextLimits as limits } from './text.js';

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
  const environmentName = emailText(environment.name, limits.name);
  return {
    subjectPrefix: environment.production ? '' : `[${environmentName}] `,
    /** A link to `path` (already URL-safe) under the environment. */
    link: (path: string) => `${base}/${path}`,
    account: { name: emailText(account.name, limits.name) },
    environment: { name: environmentName, nonProduction: !environment.production },
  };
}

/** A time as emails show it: `2026-11-27 10:15 UTC`. */
export function emailTime(time: Date): string {
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
