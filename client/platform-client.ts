/**
 * The platform's client (S40): keeps Herald in step with the platform over the HTTP API, for a
 * platform written in TypeScript (others call the same API; the README shows Python). It needs
 * nothing but `fetch`. Each entity comes with its version; pass it back as `ifMatch` to change
 * only that version (a stale one is a {@link HeraldVersionConflict}).
 */
import type { CatalogConnection, CatalogEnvironment, CatalogFlow, CatalogIntegration, CatalogUser, Catalog } from '../contracts/catalog.js';
import { HeraldInputError } from './herald-input-error.js';

export interface HeraldPlatformOptions {
  /** Herald's server, e.g. https://herald.example.com */
  url: string;
  /** An API token with the scopes the calls need (`manage` to change, `read` to read). */
  token: string;
  /** With an installation's token: the account the calls act in. */
  account?: string;
  fetch?: typeof fetch;
}

/** An entity as Herald holds it, with its version (the ETag). */
export interface Versioned<T> {
  entity: T;
  version: string;
}

export type EnvironmentBody = Omit<CatalogEnvironment, 'id' | 'account'>;
export type IntegrationBody = Omit<CatalogIntegration, 'id'>;
export type ConnectionBody = Omit<CatalogConnection, 'id'>;
export type FlowBody = Omit<CatalogFlow, 'id'>;
export type UserBody = Omit<CatalogUser, 'account' | 'email' | 'removed'>;
export interface SubscriptionsBody {
  flows?: string[];
  integrations?: string[];
  connections?: string[];
}

/** Herald answered with something other than success or a refusal of input. */
export class HeraldApiError extends Error {
  override readonly name: string = 'HeraldApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`${status}: ${message}`);
  }
}
/** The entity is no longer the version the change named (412): read it again. */
export class HeraldVersionConflict extends HeraldApiError {
  override readonly name = 'HeraldVersionConflict';
}

type Kind = 'environments' | 'integrations' | 'connections' | 'flows' | 'users';

export class HeraldPlatform {
  constructor(private readonly options: HeraldPlatformOptions) {}

  putEnvironment = (id: string, body: EnvironmentBody, ifMatch?: string) => this.put('environments', id, body, ifMatch);
  putIntegration = (id: string, body: IntegrationBody, ifMatch?: string) => this.put('integrations', id, body, ifMatch);
  putConnection = (id: string, body: ConnectionBody, ifMatch?: string) => this.put('connections', id, body, ifMatch);
  putFlow = (id: string, body: FlowBody, ifMatch?: string) => this.put('flows', id, body, ifMatch);
  putUser = (email: string, body: UserBody, ifMatch?: string) => this.put('users', email, body, ifMatch);

  /** One entity, or undefined when the account has none of that id. */
  async get(kind: Kind, id: string): Promise<Versioned<Record<string, unknown>> | undefined> {
    const answer = await this.call('GET', `/${kind}/${encodeURIComponent(id)}`, undefined, undefined, [404]);
    return answer.status === 404 ? undefined : { entity: answer.body, version: answer.version! };
  }

  /** Every entity of a kind, a page at a time. */
  async *list(kind: Kind, pageSize = 100): AsyncGenerator<Record<string, unknown>> {
    let path: string | undefined = `/${kind}?limit=${pageSize}`;
    while (path) {
      const { body } = await this.call('GET', path);
      yield* body[kind] as Record<string, unknown>[];
      path = typeof body.next === 'string' ? body.next.replace(/^\/api\/v1/, '') : undefined;
    }
  }

  /** Removes an entity (users: from the account); undefined when the account has none of that id. */
  async remove(kind: Kind, id: string, ifMatch?: string): Promise<Versioned<Record<string, unknown>> | undefined> {
    const answer = await this.call('DELETE', `/${kind}/${encodeURIComponent(id)}`, undefined, ifMatch, [404]);
    return answer.status === 404 ? undefined : { entity: answer.body, version: answer.version! };
  }

  /** Sets exactly these subscriptions of a user in an environment. */
  async setSubscriptions(environment: string, email: string, body: SubscriptionsBody, ifMatch?: string): Promise<Versioned<Record<string, unknown>>> {
    const answer = await this.call('PUT', `/environments/${encodeURIComponent(environment)}/subscriptions/${encodeURIComponent(email)}`, body, ifMatch);
    return { entity: answer.body, version: answer.version! };
  }

  /** Makes the account match its whole catalog; with `dryRun`, says what that would do and changes nothing. */
  async sync(catalog: Omit<Catalog, 'accounts'>, options: { dryRun?: boolean } = {}): Promise<Record<string, unknown>> {
    return (await this.call('PUT', `/catalog${options.dryRun ? '?dryRun=true' : ''}`, catalog)).body;
  }

  private async put(kind: Kind, id: string, body: object, ifMatch?: string): Promise<Versioned<Record<string, unknown>> & { created: boolean }> {
    const answer = await this.call('PUT', `/${kind}/${encodeURIComponent(id)}`, body, ifMatch);
    return { entity: answer.body, version: answer.version!, created: answer.status === 201 };
  }

  private async call(method: string, path: string, body?: unknown, ifMatch?: string, allowed: number[] = []) {
    const response = await (this.options.fetch ?? fetch)(`${this.options.url.replace(/\/$/, '')}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(ifMatch !== undefined && { 'if-match': ifMatch }),
        ...(this.options.account !== undefined && { 'herald-account': this.options.account }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as Record<string, unknown> & { problems?: { field: string; message: string }[]; error?: string };
    if (response.ok || allowed.includes(response.status)) return { status: response.status, body: answer, version: response.headers.get('etag') ?? undefined };
    if (response.status === 400 && answer.problems) throw new HeraldInputError(answer.problems);
    if (response.status === 412) throw new HeraldVersionConflict(412, answer.error ?? 'stale If-Match');
    throw new HeraldApiError(response.status, answer.error ?? response.statusText);
  }
}
