/**
 * Account API tokens (S29): a token is shown once when created and kept only as its SHA-256
 * hash (tokens are 256 random bits, so a fast hash is enough); it reaches its own account only,
 * until revoked.
 */
import type { Knex } from 'knex';
import { createHash, randomBytes } from 'node:crypto';
import { InputRefusedError } from '../contracts/problems.js';

/** What a token is listed as: never the token itself. */
export interface TokenView {
  id: number;
  account: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface TokenStore {
  /** Creates a token for an account; the only time the token is known. */
  create(account: string, name: string): Promise<{ id: number; token: string }>;
  /** The tokens of an account, or of every account, oldest first. */
  list(account?: string): Promise<TokenView[]>;
  /** Revokes a token: it answers 401 from now on. False when no such token is active. */
  revoke(id: number): Promise<boolean>;
  /** The account a token reaches, or undefined when it is unknown or revoked. */
  accountOf(token: string): Promise<string | undefined>;
}

const tokenPrefix = 'hrld_';
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export function createTokenStore(db: Knex): TokenStore {
  return {
    async create(account, name) {
      if (!(await db('accounts').where({ id: account }).first('id'))) {
        throw new InputRefusedError([{ field: 'account', message: `unknown account "${account}"` }]);
      }
      const token = `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
      const [row] = await db('api_tokens').insert({ account_id: account, name, token_hash: hashOf(token) }).returning('id');
      return { id: Number(row.id), token };
    },

    async list(account) {
      const query = db('api_tokens').orderBy('id');
      if (account) query.where({ account_id: account });
      return (await query).map((row) => ({
        id: Number(row.id),
        account: row.account_id,
        name: row.name,
        createdAt: row.created_at,
        lastUsedAt: row.last_used_at,
        revokedAt: row.revoked_at,
      }));
    },

    async revoke(id) {
      return (await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })) > 0;
    },

    async accountOf(token) {
      if (!token.startsWith(tokenPrefix)) return undefined;
      const row = await db('api_tokens').where({ token_hash: hashOf(token) }).whereNull('revoked_at').first('id', 'account_id', 'last_used_at');
      if (!row) return undefined;
      // "Last used" to the minute: one write a minute per token, not one per request.
      if (!row.last_used_at || Date.now() - (row.last_used_at as Date).getTime() > 60_000) {
        await db('api_tokens').where({ id: row.id }).update({ last_used_at: db.fn.now() });
      }
      return row.account_id as string;
    },
  };
}
