/**
 * The server's sessions in PostgreSQL, for @fastify/session: any server process reads any
 * session (the servers stay stateless), and signing out destroys the session for all of them.
 */
import type { Knex } from 'knex';

type Callback = (error?: unknown) => void;
/** A session as @fastify/session hands it over: plain data with its cookie's expiry. */
interface StoredSession {
  cookie?: { expires?: Date | string | null };
}

/** The default lifetime of a session whose cookie names none. */
const defaultLifetimeMs = 12 * 60 * 60_000;

export function createSessionStore(db: Knex) {
  return {
    set(id: string, session: StoredSession, callback: Callback) {
      const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + defaultLifetimeMs);
      db('sessions')
        .insert({ id, data: JSON.stringify(session), expires_at: expires })
        .onConflict('id')
        .merge()
        .then(() => callback(), callback);
    },
    get(id: string, callback: (error: unknown, session?: never) => void) {
      db('sessions')
        .where({ id })
        .where('expires_at', '>', db.fn.now())
        .first('data')
        .then((row) => callback(null, (row?.data ?? null) as never), callback);
    },
    destroy(id: string, callback: Callback) {
      db('sessions')
        .where({ id })
        .delete()
        .then(() => callback(), callback);
    },
  };
}
