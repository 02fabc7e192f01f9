/**
 * API tokens (S29, S40): a token is shown once when created and kept only as its SHA-256 hash
 * (tokens are 256 random bits, so a fast hash is enough). An account's token reaches its own
 * account only, and does what its scopes allow; an installation's token reaches every account
 * and may create them. Both work until revoked.
 */
import type { Knex } from 'knex';
import { createHash, randomBytes } from 'node:crypto';
import { InputRefusedError } from '../contracts/problems.js';

/** What a token may do: report (errors, successes, connection status), read (errors, entities), manage (entities, catalog, resolve, assign). */
export const tokenScopes = ['report', 'read', 'manage'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/** Who holds a token: its id and name, its account (none for an installation's token) and its scopes. */
export interface TokenHolder {
  tokenId: number;
  name: string;
  account: string | null;
  scopes: TokenScope[];
  installation: boolean;
}

/** What a token is listed as: never the token itself. */
export interface TokenView {
  id: number;
  /** The account it reaches; null for an installation's token. */
  account: string | null;
  scopes: TokenScope[];
  installation: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface TokenStore {
  /** Creates a token, for an account or the installation, with these scopes (default all three); the only time the token is known. */
  create(holder: string | { installation: true }, name: string, scopes?: TokenScope[]): Promise<{ id: number; token: string }>;
  /** The tokens of an account, or of every account, oldest first. */
  list(account?: string): Promise<TokenView[]>;
  /** Revokes a token: it answers 401 from now on. False when no such token is active. */
  revoke(id: number): Promise<boolean>;
  /** Who holds a token, or undefined when it is unknown or revoked. */
  holderOf(token: string): Promise<TokenHolder | undefined>;
}

const tokenPrefix = 'hrld_';
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export function createTokenStore(db: Knex): TokenStore {
  return {
    async create(holder, name, scopes = [...tokenScopes]) {
      const unknown = scopes.filter((scope) => !tokenScopes.includes(scope));
      if (unknown.length > 0 || scopes.length === 0) {
        throw new InputRefusedError([{ field: 'scopes', message: `must be one or more of ${tokenScopes.join(', ')}${unknown.length > 0 ? `, not ${unknown.join(', ')}` : ''}` }]);
      }
      const account = typeof holder === 'string' ? holder : null;
      if (account !== null && !(await db('accounts').where({ id: account }).first('id'))) {
        throw new InputRefusedError([{ field: 'account', message: `unknown account "${account}"` }]);
      }
      const token = `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
      const stored = account === null ? [...new Set(scopes), 'installation'] : [...new Set(scopes)];
      const [row] = await db('api_tokens').insert({ account_id: account, name, token_hash: hashOf(token), scopes: stored }).returning('id');
      return { id: Number(row.id), token };
    },

    async list(account) {
      const query = db('api_tokens').orderBy('id');
      if (account) query.where({ account_id: account });
      return (await query).map((row) => ({
        id: Number(row.id),
        account: row.account_id,
        ...scopesOf(row.scopes),
        name: row.name,
        createdAt: row.created_at,
        lastUsedAt: row.last_used_at,
        revokedAt: row.revoked_at,
      }));
    },

    async revoke(id) {
      return (await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })) > 0;
    },

    async holderOf(token) {
      if (!token.startsWith(tokenPrefix)) return undefined;
      const row = await db('api_tokens').where({ token_hash: hashOf(token) }).whereNull('revoked_at').first('id', 'name', 'account_id', 'scopes', 'last_used_at');
      if (!row) return undefined;
      // "Last used" to the minute: one write a minute per token, not one per request.
      if (!row.last_used_at || Date.now() - (row.last_used_at as Date).getTime() > 60_000) {
        await db('api_tokens').where({ id: row.id }).update({ last_used_at: db.fn.now() });
      }
      return { tokenId: Number(row.id), name: row.name, account: row.account_id, ...scopesOf(row.scopes) };
    },
  };
}

/** A token's stored scopes: what it may do, and whether it is the installation's. */
function scopesOf(stored: string[]): { scopes: TokenScope[]; installation: boolean } {
  return { scopes: tokenScopes.filter((scope) => stored.includes(scope)), installation: stored.includes('installation') };
}
