/**
 * `herald digest preview`: what one user's next digest would hold, rendered, with nothing sent
 * and nothing changed. The next cycle is fixed exactly as the digest workflow would fix it, inside
 * a transaction that is then rolled back, so the preview cannot drift from the real thing.
 */
import type { Knex } from 'knex';
import { createDigestStore } from '../stores/digest-store.js';
import { composeDigest, type ComposedDigest } from './digest-composer.js';
import { unsubscribePlaceholder } from './unsubscribe.js';
import { actionsLeadTo } from './email-actions.js';
import { emailFrame } from './email-frame.js';
import { digestDetailLimit } from './digest-email.js';
import { describeRhythm } from '../contracts/rhythm.js';
import { rhythmOfRow } from '../stores/rhythm.js';

export type DigestPreview =
  | ({ kind: 'email'; cycle: number; newCount: number; resolvedCount: number; openCount: number } & ComposedDigest)
  | { kind: 'nothing'; cycle: number; reason: string };

export class PreviewError extends Error {
  override readonly name = 'PreviewError';
}

class RollBack extends Error {}

export async function previewDigest(db: Knex, environment: string, email: string, appUrl: string): Promise<DigestPreview> {
  const env = await db('environments').where({ id: environment }).first('id', 'account_id');
  if (!env) throw new PreviewError(`unknown environment "${environment}"`);
  const user = await db('users').where({ account_id: env.account_id, email: email.toLowerCase() }).first('id', 'removed_at');
  if (!user) throw new PreviewError(`"${email}" is not a user of the account of environment "${environment}"`);

  let preview: DigestPreview | undefined;
  await db
    .transaction(async (trx) => {
      const store = createDigestStore(trx);
      const number = (await store.lastCycleNumber(environment)) + 1;
      const fixed = await store.fixCycle(environment, number);
      const [delivery] = await store.pendingDeliveries(fixed.cycleId, 1, 0, user.id);
      if (!delivery) {
        const rhythm = await trx('digest_rhythms').where({ environment_id: environment, user_id: user.id }).first();
        const waiting = rhythm && !(await trx('digest_skips').where({ cycle_id: fixed.cycleId, user_id: user.id }).first());
        const reason = user.removed_at
          ? 'the user is removed: removed users get no digests'
          : waiting
            ? `not due now: this user's digest comes ${describeRhythm(rhythmOfRow(rhythm))}; what is new waits for it`
            : 'nothing new and nothing resolved in the flows this user follows: no email';
        preview = { kind: 'nothing', cycle: number, reason };
      } else {
        const context = await store.cycleContext(fixed.cycleId);
        const newByFlow = await store.newErrorsByFlow(fixed.cycleId, delivery.flowIds, digestDetailLimit, delivery.sinceCycleId);
        const folded = await store.foldedByFlow(fixed.cycleId, delivery.sinceCycleId);
        const { subject, rendered } = await composeDigest(store, context, delivery, newByFlow, folded, appUrl);
        // The email as sent carries the user's own signed unsubscribe and action links; a preview shows where
        // unsubscribing leads, and its actions lead to the open errors, where the person signs in and acts.
        const previewLink = `${appUrl.replace(/\/+$/, '')}/unsubscribe/preview`;
        const openErrors = emailFrame(appUrl, context.environment, context.account).link('errors?status=open&mine=1');
        const shown = actionsLeadTo({ html: rendered.html.replaceAll(unsubscribePlaceholder, previewLink), text: rendered.text.replaceAll(unsubscribePlaceholder, previewLink) }, openErrors);
        const composed = { subject, rendered: shown };
        preview = {
          kind: 'email',
          cycle: number,
          newCount: delivery.newCount,
          resolvedCount: delivery.resolvedCount,
          openCount: delivery.openCount,
          ...composed,
        };
      }
      throw new RollBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RollBack)) throw error;
    });
  return preview!;
}
