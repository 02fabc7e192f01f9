/**
 * Acting from an email or a channel's message (S45): which email or message a link names and the
 * error it acts on, and each action taken, once per email (or message), person, action and target
 * (`email_actions`, whose `email_id` is the email's or the message's public id): a second use finds it done.
 */
import type { Knex } from 'knex';
import type { EmailActionLink } from '../contracts/email-action.js';
import { groupKeySql } from './fingerprint.js';

/** The email a link names, as its recipient got it. */
export interface ActedEmail {
  environment: string;
  createdAt: Date;
}

/** The channel message a link names, as it was posted. */
export interface ActedMessage {
  environment: string;
  createdAt: Date;
  channelKind: string;
}

/** The error a link acts on, and the group it is in (S42). */
export interface ActionError {
  id: number;
  environment: string;
  flowId: string;
  flowName: string;
  message: string;
  traceKey: string;
  status: string;
  groupKey: string;
}

export interface DoneAction {
  doneAt: Date;
  errors: number;
}

export function createEmailActionStore(db: Knex) {
  const keyOf = (link: EmailActionLink) => ({ email_id: link.emailId, user_id: link.userId, action: link.action, target: link.target, error_id: link.errorId });
  return {
    /** The email `emailId`, if it went to this user. */
    async email(emailId: string, userId: number): Promise<ActedEmail | undefined> {
      const row = await db('notifications').where({ public_id: emailId, user_id: userId }).first('environment_id', 'created_at');
      return row && { environment: row.environment_id as string, createdAt: row.created_at as Date };
    },

    /** The message `messageId` (its public id), if it was posted to this channel. */
    async channelMessage(messageId: string, channelId: number): Promise<ActedMessage | undefined> {
      const row = await db('notifications as m').join('channels as c', 'c.id', 'm.channel_id').where({ 'm.public_id': messageId, 'm.channel_id': channelId }).first('m.environment_id', 'm.created_at', 'c.kind');
      return row && { environment: row.environment_id as string, createdAt: row.created_at as Date, channelKind: row.kind as string };
    },

    /** The error `id` of `environment`, with its flow and group. */
    async error(environment: string, id: number): Promise<ActionError | undefined> {
      const row = await db('errors as e')
        .join('flows as f', 'f.id', 'e.flow_id')
        .where({ 'e.id': id, 'e.environment_id': environment })
        .first('e.id', 'e.environment_id', 'e.flow_id', 'f.name as flow_name', 'e.message', 'e.trace_key', 'e.status', db.raw(`${groupKeySql('e')} as group_key`));
      return (
        row && {
          id: Number(row.id),
          environment: row.environment_id as string,
          flowId: row.flow_id as string,
          flowName: row.flow_name as string,
          message: row.message as string,
          traceKey: row.trace_key as string,
          status: row.status as string,
          groupKey: row.group_key as string,
        }
      );
    },

    /** The action this link took, if it was taken. */
    async done(link: EmailActionLink): Promise<DoneAction | undefined> {
      const row = await db('email_actions').where(keyOf(link)).first('done_at', 'errors');
      return row && { doneAt: row.done_at as Date, errors: row.errors as number };
    },

    /**
     * Takes this link's action once: `act` runs only for the first use, and what it answers is
     * recorded with it; a use at the same time, or after, finds it taken (answers undefined). If
     * `act` fails, the link stays usable.
     */
    async once(link: EmailActionLink, act: () => Promise<number[]>): Promise<number[] | undefined> {
      const [claimed] = await db('email_actions').insert({ ...keyOf(link), errors: 0 }).onConflict(['email_id', 'user_id', 'action', 'target', 'error_id']).ignore().returning('id');
      if (!claimed) return undefined;
      try {
        const acted = await act();
        await db('email_actions').where({ id: claimed.id }).update({ errors: acted.length });
        return acted;
      } catch (error) {
        await db('email_actions').where({ id: claimed.id }).delete();
        throw error;
      }
    },
  };
}

export type EmailActionStore = ReturnType<typeof createEmailActionStore>;
