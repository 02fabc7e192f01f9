/**
 * Notification settings (S24): what a user follows in one environment (flows one by one, all
 * flows of an integration, connections), as the settings page shows and saves it. Saving
 * replaces the user's subscriptions of that environment at once and records the choice, which a
 * catalog then leaves alone.
 */
import type { Knex } from 'knex';
import { recordAudit } from './audit-store.js';
import { everyCycle, type Rhythm } from '../contracts/rhythm.js';
import { rhythmOfRow, rowOfRhythm } from './rhythm.js';
import type { WeeklyReview } from '../contracts/weekly-review.js';
import { createWeeklyReviewStore, saveWeeklyReviewIn, type WeeklyReviewSetting } from './weekly-review-store.js';

export interface Subscriptions {
  flows: string[];
  integrations: string[];
  connections: string[];
}

export interface SettingsStore {
  /** What the user follows in the environment, and when they (or an admin) last chose it on the page. */
  subscriptions(userId: number, environment: string): Promise<Subscriptions & { chosenAt: Date | null }>;
  /** Replaces what the user follows in the environment; `chosenBy` is who saved it. */
  save(userId: number, environment: string, subscriptions: Subscriptions, chosenBy: number): Promise<void>;
  /**
   * Ends one scope of a user's emails in an environment (S25): its error emails (flows and
   * integrations followed), one connection's emails, or the weekly review (S47). Recorded as the
   * user's choice, so a catalog does not bring it back. False when the user is gone or the scope
   * was not followed.
   */
  unsubscribe(userId: number, environment: string, scope: { connection?: string; weekly?: true }): Promise<boolean>;
  /** The user's digest rhythm in the environment (S41), every cycle unless chosen, and whether it was chosen on the settings page. */
  rhythm(userId: number, environment: string): Promise<{ rhythm: Rhythm; chosenOnPage: boolean }>;
  /** Sets the user's digest rhythm in the environment, as chosen on the settings page by `chosenBy`. */
  saveRhythm(userId: number, environment: string, rhythm: Rhythm, chosenBy: number): Promise<void>;
  /** The user's weekly review in the environment (S47): their choice, or their role's default. */
  weeklyReview(userId: number, environment: string): Promise<WeeklyReviewSetting>;
  /** Sets the user's weekly review in the environment, as chosen on the settings page by `chosenBy`. */
  saveWeeklyReview(userId: number, environment: string, review: WeeklyReview, chosenBy: number): Promise<void>;
  /** The current users of an account, for owners and admins choosing whose settings to open. */
  users(account: string): Promise<{ id: number; email: string; name: string | null }[]>;
}

export function createSettingsStore(db: Knex): SettingsStore {
  const weekly = createWeeklyReviewStore(db);

  /** Turns the person's weekly review off as their own choice; false when they are gone or it was off. */
  async function unsubscribeWeekly(userId: number, environment: string): Promise<boolean> {
    const { review } = await weekly.setting(userId, environment);
    return db.transaction(async (trx) => {
      if (!(await trx('users').where({ id: userId }).whereNull('removed_at').first('id'))) return false;
      await saveWeeklyReviewIn(trx, userId, environment, { ...review, on: false }, true);
      await recordChoice(trx, userId, environment, userId, 'unsubscribed', { weeklyReview: true }, 'weekly review');
      return review.on;
    });
  }

  return {
    async subscriptions(userId, environment) {
      const rows = await db('subscriptions').where({ user_id: userId, environment_id: environment }).select('flow_id', 'integration_id', 'connection_id');
      const choice = await db('subscription_choices').where({ user_id: userId, environment_id: environment }).first('chosen_at');
      const of = (column: string) => rows.map((row) => row[column] as string | null).filter((v): v is string => v !== null).sort();
      return { flows: of('flow_id'), integrations: of('integration_id'), connections: of('connection_id'), chosenAt: choice?.chosen_at ?? null };
    },

    async save(userId, environment, subscriptions, chosenBy) {
      await db.transaction(async (trx) => {
        await trx('subscriptions').where({ user_id: userId, environment_id: environment }).delete();
        const rows = [
          ...subscriptions.flows.map((flow_id) => ({ flow_id })),
          ...subscriptions.integrations.map((integration_id) => ({ integration_id })),
          ...subscriptions.connections.map((connection_id) => ({ connection_id })),
        ].map((target) => ({ user_id: userId, environment_id: environment, ...target }));
        if (rows.length > 0) await trx('subscriptions').insert(rows);
        await trx('subscription_choices')
          .insert({ user_id: userId, environment_id: environment, chosen_by: chosenBy, chosen_at: trx.fn.now() })
          .onConflict(['user_id', 'environment_id'])
          .merge();
        await recordChoice(trx, userId, environment, chosenBy, 'chose', subscriptions);
      });
    },

    async unsubscribe(userId, environment, scope) {
      if (scope.weekly) return unsubscribeWeekly(userId, environment);
      return db.transaction(async (trx) => {
        if (!(await trx('users').where({ id: userId }).whereNull('removed_at').first('id'))) return false;
        const followed = trx('subscriptions').where({ user_id: userId, environment_id: environment });
        if (scope.connection) followed.where({ connection_id: scope.connection });
        else followed.whereNull('connection_id');
        const ended = await followed.delete();
        await trx('subscription_choices')
          .insert({ user_id: userId, environment_id: environment, chosen_by: userId, chosen_at: trx.fn.now() })
          .onConflict(['user_id', 'environment_id'])
          .merge();
        await recordChoice(trx, userId, environment, userId, 'unsubscribed', scope.connection ? { connection: scope.connection } : { errorEmails: true });
        return ended > 0;
      });
    },

    async rhythm(userId, environment) {
      const row = await db('digest_rhythms').where({ user_id: userId, environment_id: environment }).first();
      return row ? { rhythm: rhythmOfRow(row), chosenOnPage: row.chosen_on_page } : { rhythm: everyCycle, chosenOnPage: false };
    },

    async saveRhythm(userId, environment, rhythm, chosenBy) {
      await db.transaction(async (trx) => {
        if (await saveRhythmIn(trx, userId, environment, rhythm, true)) await recordChoice(trx, userId, environment, chosenBy, 'chose', rhythm, 'rhythm');
      });
    },

    weeklyReview: (userId, environment) => weekly.setting(userId, environment),

    async saveWeeklyReview(userId, environment, review, chosenBy) {
      await db.transaction(async (trx) => {
        if (await saveWeeklyReviewIn(trx, userId, environment, review, true)) await recordChoice(trx, userId, environment, chosenBy, 'chose', review, 'weekly review');
      });
    },

    async users(account) {
      return (await db('users').where({ account_id: account }).whereNull('removed_at').orderBy('email').select('id', 'email', 'name')).map((row) => ({
        id: Number(row.id),
        email: row.email,
        name: row.name,
      }));
    },
  };
}

/** Records a choice of a user's subscriptions in the account's audit: who chose (the user, or an owner or admin for them). */
async function recordChoice(trx: Knex.Transaction, userId: number, environment: string, chosenBy: number, action: string, detail: unknown, kind = 'subscriptions'): Promise<void> {
  const [user, by] = await Promise.all([trx('users').where({ id: userId }).first('account_id', 'email'), trx('users').where({ id: chosenBy }).first('email')]);
  await recordAudit(trx, { account: user.account_id, actor: by.email, action, kind, entity: `${environment}/${user.email}`, detail });
}

/**
 * Sets a person's rhythm (S41); answers whether it changed. A person's first rhythm starts from
 * the environment's last cycle (their digests so far told of everything up to it); a change keeps
 * where they stand.
 */
export async function saveRhythmIn(trx: Knex.Transaction, userId: number, environment: string, rhythm: Rhythm, onPage: boolean): Promise<boolean> {
  const stored = rowOfRhythm(rhythm);
  const columns = { ...stored, chosen_at: trx.fn.now(), chosen_on_page: onPage };
  const key = { user_id: userId, environment_id: environment };
  const before = await trx('digest_rhythms').where(key).first();
  if (before) {
    await trx('digest_rhythms').where(key).update(columns);
    // Compared as stored: a rhythm read back and put again is no change.
    return Object.entries(stored).some(([column, value]) => before[column] !== value);
  }
  const last = await trx('digest_cycles').where({ environment_id: environment }).orderBy('number', 'desc').first('id');
  // Two first saves at once (the page and the API): the later one's rhythm stands.
  await trx('digest_rhythms')
    .insert({ ...key, ...columns, last_due_cycle_id: last?.id ?? 0, last_due_at: trx.fn.now() })
    .onConflict(['environment_id', 'user_id'])
    .merge(Object.keys(columns));
  return true;
}
