/**
 * Who and what a change of errors (resolving, snoozing) names: the person it is made as, a user of
 * the environment's account who has not left it and is no monitor; and the errors, all of the
 * environment. Refused with words otherwise.
 */
import type { Knex } from 'knex';
import { InputRefusedError } from '../contracts/problems.js';

export async function actingUser(db: Knex, environment: string, email: string, verb: string): Promise<{ email: string; account: string }> {
  const env = await db('environments').where({ id: environment }).first('account_id');
  if (!env) throw new InputRefusedError([{ field: 'environment', message: `unknown environment "${environment}"` }]);
  const user = await db('users').where({ account_id: env.account_id, email: email.toLowerCase() }).whereNull('removed_at').first('email', 'role');
  if (!user) throw new InputRefusedError([{ field: 'user', message: `"${email}" is not a user of this environment's account` }]);
  if (user.role === 'monitor') throw new InputRefusedError([{ field: 'user', message: `"${email}" is a monitor user: monitors read, they do not ${verb} errors` }]);
  return { email: user.email as string, account: env.account_id as string };
}

/** The rows (id and `columns`) of the errors `ids` names, all of the environment's; refused naming those that are not. */
export async function namedErrors(db: Knex, environment: string, ids: number[], columns: string[] = []): Promise<Record<string, unknown>[]> {
  const rows = await db('errors').where({ environment_id: environment }).whereIn('id', ids).select('id', ...columns);
  const unknown = ids.filter((id) => !rows.some((row) => Number(row.id) === id));
  if (unknown.length > 0) throw new InputRefusedError([{ field: 'errorIds', message: `no errors ${unknown.join(', ')} in environment "${environment}"` }]);
  return rows;
}

/** SQL: whether the recipient of delivery `alias` may act on errors (no monitor): their email carries actions (S45). */
export const mayActSql = (alias: string) => `coalesce((select u.role <> 'monitor' from users u where u.id = ${alias}.user_id), false)`;
