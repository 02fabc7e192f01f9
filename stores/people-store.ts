/**
 * People signing in (S22): single-use sign-in links, kept as hashes and valid 15 minutes, and
 * who a signed-in user is. A removed user can neither get a link nor use one.
 */
import type { Knex } from 'knex';
import { createHash, randomBytes } from 'node:crypto';

/** How long a sign-in link works. */
export const signInLinkLifetimeMs = 15 * 60_000;

export type Role = 'owner' | 'admin' | 'manage' | 'monitor';

/** A user of an account, as the server knows the person signed in. */
export interface Person {
  id: number;
  email: string;
  name: string | null;
  role: Role;
  account: string;
  accountName: string;
}

export interface PeopleStore {
  /** One new sign-in link per current user with this address (an address may be a user of several accounts). */
  createSignInLinks(email: string, nextPath: string): Promise<{ token: string; person: Person }[]>;
  /** Uses a link: the person it signs in, once; undefined for a used, expired, altered or unknown link. */
  useSignInLink(token: string): Promise<{ person: Person; nextPath: string } | undefined>;
  /** The person whose link this is, without using it (for the page that asks to confirm). */
  peekSignInLink(token: string): Promise<Person | undefined>;
  /** A current user by id; undefined once removed. */
  person(id: number): Promise<Person | undefined>;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const columns = ['u.id', 'u.email', 'u.name', 'u.role', 'u.account_id', 'a.name as account_name'];
const toPerson = (row: Record<string, unknown>): Person => ({
  id: Number(row.id),
  email: row.email as string,
  name: row.name as string | null,
  role: row.role as Role,
  account: row.account_id as string,
  accountName: row.account_name as string,
});
const currentUsers = (db: Knex) => db('users as u').join('accounts as a', 'a.id', 'u.account_id').whereNull('u.removed_at');

export function createPeopleStore(db: Knex): PeopleStore {
  const store: PeopleStore = {
    async createSignInLinks(email, nextPath) {
      const people = (await currentUsers(db).where('u.email', email.trim().toLowerCase()).orderBy('u.id').select(columns)).map(toPerson);
      const links = [];
      for (const person of people) {
        const token = randomBytes(32).toString('base64url');
        await db('sign_in_links').insert({
          user_id: person.id,
          token_hash: hashOf(token),
          next_path: nextPath,
          expires_at: db.raw(`now() + make_interval(secs => ?)`, [signInLinkLifetimeMs / 1000]),
        });
        links.push({ token, person });
      }
      return links;
    },

    async useSignInLink(token) {
      const [used] = await db('sign_in_links')
        .where({ token_hash: hashOf(token) })
        .whereNull('used_at')
        .where('expires_at', '>', db.fn.now())
        .update({ used_at: db.fn.now() })
        .returning(['user_id', 'next_path']);
      if (!used) return undefined;
      const person = await store.person(Number(used.user_id));
      return person && { person, nextPath: used.next_path as string };
    },

    async peekSignInLink(token) {
      const row = await currentUsers(db)
        .join('sign_in_links as l', 'l.user_id', 'u.id')
        .where('l.token_hash', hashOf(token))
        .whereNull('l.used_at')
        .where('l.expires_at', '>', db.fn.now())
        .first(columns);
      return row && toPerson(row);
    },

    async person(id) {
      const row = await currentUsers(db).where('u.id', id).first(columns);
      return row && toPerson(row);
    },
  };
  return store;
}
