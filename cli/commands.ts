/**
 * The `herald` command line, for operators and scripts: its commands (their help is made from the
 * table), and what a failure prints and exits with. `cli/main.ts` runs it. Without DATABASE_URL and
 * TEMPORAL_ADDRESS it talks to what `npm start` runs on this machine.
 */
import type { Client, Connection } from '@temporalio/client';
import type { HeraldClient } from '../client/herald-client.js';
import type { Knex } from 'knex';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError, loadConfig, type HeraldConfig, type LogLevel } from '../config/config.js';
import pino from 'pino';
import { heraldLogger, type Logger } from '../observability/log.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { applyCatalog } from '../catalog/catalog.js';
import { CatalogFileError, readCatalogFile } from '../catalog/catalog-file.js';
import { errorStatuses, type ErrorStatus } from '../contracts/errors.js';
import type { ReportedError } from '../contracts/error-report.js';
import { createErrorStore } from '../stores/error-store.js';
import { createDeliveryStore, type PendingSummary } from '../stores/delivery-store.js';
import { databaseAddress, refusedConnectionTo, UnreachableError } from '../config/unreachable.js';
import { keptSecret, localStateFolders } from '../embedded/local-state.js';
import { environmentOverviews } from '../stores/overview-store.js';
import { parseDuration } from '../contracts/duration.js';
import { ChosenByUser, EntityChanged, EntityTaken, listEntities, putEntity, putSubscriptions, removeUser } from '../admin/entities.js';
import { connectionStatusWorkflowId, environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { helpText, parseCommand, UsageError, type Command, type CommandArgs } from './command-line.js';
import { createTokenStore, type TokenScope } from '../stores/token-store.js';
import { check, InputRefusedError } from '../contracts/problems.js';
import { snoozeEnd, snoozeRequestSchema } from '../contracts/snooze.js';
import { createSnoozeStore } from '../stores/snooze-store.js';
import { createPeopleStore } from '../stores/people-store.js';

/** Temporal's side of the command line (cli/temporal-side.ts), loaded by the first command that uses it. */
const temporalSide = () => import('./temporal-side.js');

/** Where `npm start` runs its embedded services (see worker/start.ts). */
const embeddedDefaults = {
  databaseUrl: 'postgres://postgres:herald@127.0.0.1:54329/herald',
  temporalAddress: '127.0.0.1:7233',
};

const text = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;

/** Every command: its usage, what it does, its options and its handler. Help is made from this table. */
export const commands: Record<string, Command<Session>> = {
  'db migrate': {
    summary: 'apply database migrations',
    usage: '',
    description: `Applies every pending migration to DATABASE_URL.`,
    run: async (session) => {
      const applied = await migrateLatest(session.db());
      return print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    },
  },
  'catalog apply': {
    summary: 'declare accounts, users, environments, integrations, flows, connections and subscriptions from a JSON or YAML file',
    usage: 'FILE',
    description: `Upserts the catalog in FILE (.json, .yaml or .yml); applying it twice changes nothing.
A bad catalog is refused whole, with each problem at its path, and nothing is written.
Then makes sure each environment has its digest workflow (when Temporal is reachable).`,
    run: catalogApply,
  },
  'errors report': {
    summary: 'report errors of a flow run',
    usage: '--env ENV --flow FLOW [--report ID] [--retry-activity TYPE]',
    description: `         (--file ERRORS.json | --trace-key KEY --message TEXT [--code CODE] [--step STEP] [--intermittent])
Reports errors of one flow run; returns once they are stored. ERRORS.json holds a list of
{ "traceKey", "message", "code"?, "step"?, "id"?, "occurredAt"?, "intermittent"?, "record"? }.`,
    options: { env: text, flow: text, report: text, 'retry-activity': text, file: text, 'trace-key': text, message: text, code: text, step: text, intermittent: flag },
    required: ['env', 'flow'],
    run: errorsReport,
  },
  'errors succeed': {
    summary: 'report records of a flow that succeeded (auto-resolve)',
    usage: '--env ENV --flow FLOW TRACE_KEY...',
    description: `Reports records that succeeded: their open errors auto-resolve where the flow allows it.`,
    options: { env: text, flow: text },
    required: ['env', 'flow'],
    run: async (session, args) => {
      const result = await (await session.client()).reportSuccesses({ environment: args.required('env'), flow: args.required('flow'), traceKeys: args.positionals });
      return print(
        result.autoResolveOff
          ? 'auto-resolve is off for this flow: nothing changed'
          : `${result.resolved} error(s) auto-resolved, ${result.recovered} recovered from their retry window`,
      );
    },
  },
  'errors resolve': {
    summary: 'resolve errors as a user',
    usage: '--env ENV --user EMAIL ERROR_ID...',
    description: `Resolves errors as the named user of the account.`,
    options: { env: text, user: text },
    required: ['env', 'user'],
    run: async (session, args) => {
      const ids = args.positionals.map(Number);
      const resolved = await (await session.client()).resolveErrors({ environment: args.required('env'), user: args.required('user'), errorIds: ids });
      return print(`resolved ${resolved.length} of ${ids.length}: ${resolved.join(', ') || 'none (already resolved)'}`);
    },
  },
  'errors snooze': {
    summary: 'snooze errors, or a group of a flow\'s errors, as a user (S46)',
    usage: '--env ENV --user EMAIL (--until TIME | --for DURATION | --events N) (ERROR_ID... | --flow FLOW --group FINGERPRINT)',
    description: `Leaves errors out of digests' new lists and of reminders until a time (ISO 8601), for a while
("1 day", "4h"), or until N more of them are reported; digests count them as snoozed, and tell
them as new once when the snooze ends. Resolving them ends it. As the named user, who is no monitor.`,
    options: { env: text, user: text, until: text, for: text, events: text, flow: text, group: text },
    required: ['env', 'user'],
    run: errorsSnooze,
  },
  'errors assign': {
    summary: 'assign errors to a user of the account',
    usage: '--env ENV --to EMAIL --user EMAIL ERROR_ID...',
    description: `Assigns errors to a user of the account (--to), as the user named by --user, who is no monitor.
The assignee is emailed at once, whatever their notification settings.`,
    options: { env: text, to: text, user: text },
    required: ['env', 'to', 'user'],
    run: async (session, args) => {
      const ids = args.positionals.map(Number);
      const assigned = await (await session.client()).assignErrors({ environment: args.required('env'), assignee: args.required('to'), user: args.required('user'), errorIds: ids });
      return print(`assigned ${assigned.length} error(s) to ${args.required('to')}: ${assigned.join(', ')}`);
    },
  },
  'errors list': {
    summary: 'list errors',
    usage: `[--env ENV] [--flow FLOW] [--status ${errorStatuses.join('|')}] [--limit N] [--json]`,
    description: `Lists errors, newest first.`,
    options: { env: text, flow: text, status: text, limit: text, json: flag },
    run: errorsList,
  },
  'tokens create': {
    summary: 'create an API token for the HTTP API (shown once)',
    usage: '(--account ACCOUNT | --installation) --name NAME [--scopes report,read,manage]',
    description: `Creates an API token and prints it once: Herald keeps only its hash. Flows and the platform send
it as "Authorization: Bearer TOKEN". An account's token reaches that account only; an
installation's token (--installation) reaches every account (naming it in a "herald-account"
header) and may create accounts. --scopes says what it may do: report (errors, successes,
connection status), read (errors, entities, the audit), manage (entities, resolve, assign);
default all three. A flow that only reports wants --scopes report.`,
    options: { account: text, installation: flag, name: text, scopes: text },
    required: ['name'],
    async run(session, args) {
      const account = args.option('account');
      if ((account === undefined) === !args.flag('installation')) throw new UsageError('give --account ACCOUNT or --installation, one of them');
      const scopes = args.option('scopes')?.split(',').map((scope) => scope.trim()) as TokenScope[] | undefined;
      const { id, token } = await createTokenStore(session.db()).create(account ?? { installation: true }, args.required('name'), scopes);
      return print(`token ${id} for ${account ? `account ${account}` : 'the installation'} (shown this once; keep it secret):\n${token}`);
    },
  },
  'tokens list': {
    summary: 'list API tokens (never the tokens themselves)',
    usage: '[--account ACCOUNT]',
    description: 'Lists API tokens: id, account, name, when created, last used and revoked.',
    options: { account: text },
    async run(session, args) {
      const tokens = await createTokenStore(session.db()).list(args.option('account'));
      const when = (date: Date | null) => (date ? date.toISOString().slice(0, 16).replace('T', ' ') : '-');
      for (const t of tokens) {
        print(`${String(t.id).padStart(4)}  ${t.account ?? '(installation)'}  ${t.name}  ${t.scopes.join(',')}  created ${when(t.createdAt)}  used ${when(t.lastUsedAt)}${t.revokedAt ? `  REVOKED ${when(t.revokedAt)}` : ''}`);
      }
      return print(`${tokens.length} token(s)`);
    },
  },
  'tokens revoke': {
    summary: 'revoke an API token',
    usage: 'ID',
    description: 'Revokes an API token: requests carrying it are answered 401 from now on.',
    options: {},
    async run(session, args) {
      const id = Number(args.positionals[0]);
      if (args.positionals.length !== 1 || !Number.isInteger(id) || id < 1) throw new UsageError('give the id of one token (herald tokens list)');
      if (!(await createTokenStore(session.db()).revoke(id))) throw new UsageError(`no active token ${id}`);
      return print(`token ${id} revoked`);
    },
  },
  'users sign-in-link': {
    summary: "print a user's sign-in link (single use, 15 minutes)",
    usage: '--email ADDRESS',
    description: `Prints a sign-in link for each account the address is a user of, as the sign-in page would
email it: for an operator helping someone in. Each link signs in once, within 15 minutes.`,
    options: { email: text },
    required: ['email'],
    async run(session, args) {
      const links = await createPeopleStore(session.db()).createSignInLinks(args.required('email'), '/');
      if (links.length === 0) throw new UsageError(`${args.required('email')} is no current user of any account`);
      for (const { token, person } of links) print(`${person.accountName} (${person.account}): ${session.config.appUrl}/sign-in/${token}`);
      return 0;
    },
  },
  'users put': {
    summary: 'add a user to an account, or change their role or name (as PUT /api/v1/users/{email})',
    usage: '--account ACCOUNT --email ADDRESS --role owner|admin|manage|monitor [--name NAME]',
    description: `Puts a user of an account, as the platform does over the API: the same command twice changes
nothing. A removed user put again is back. Prints the user as it now reads; the change is recorded
in the account's audit.`,
    options: { account: text, email: text, role: text, name: text },
    required: ['account', 'email', 'role'],
    async run(session, args) {
      const body = { role: args.required('role'), ...(args.option('name') !== undefined && { name: args.option('name') }) };
      const { entity } = await putEntity(session.db(), { actor: 'operator (herald users put)', account: args.required('account'), kind: 'users', id: args.required('email'), body });
      return print(JSON.stringify(entity));
    },
  },
  'users remove': {
    summary: 'remove a user from an account (as DELETE /api/v1/users/{email})',
    usage: '--account ACCOUNT --email ADDRESS',
    description: 'Removes a user from an account: their pending emails are cancelled and their sessions end.',
    options: { account: text, email: text },
    required: ['account', 'email'],
    async run(session, args) {
      const user = await removeUser(session.db(), { actor: 'operator (herald users remove)', account: args.required('account'), email: args.required('email') });
      if (!user) throw new UsageError(`${args.required('email')} is no user of ${args.required('account')}`);
      return print(JSON.stringify(user));
    },
  },
  'users list': {
    summary: "list an account's users",
    usage: '--account ACCOUNT',
    description: "Lists an account's users by address: role, name, and whether removed.",
    options: { account: text },
    required: ['account'],
    async run(session, args) {
      const users = await listEntities(session.db(), args.required('account'), 'users', { limit: Number.MAX_SAFE_INTEGER });
      for (const user of users) print(`${String(user.email)}  ${String(user.role)}${user.name ? `  ${String(user.name)}` : ''}${user.removed ? '  REMOVED' : ''}`);
      return print(`${users.length} user(s)`);
    },
  },
  'subscriptions set': {
    summary: "set a user's subscriptions in an environment (as PUT /api/v1/environments/{env}/subscriptions/{email})",
    usage: '--account ACCOUNT --env ENVIRONMENT --user ADDRESS [--flows A,B] [--integrations A,B] [--connections A,B]',
    description: `Sets exactly these subscriptions of a user in an environment (none given: none). A user who chose
their own on the settings page keeps them.`,
    options: { account: text, env: text, user: text, flows: text, integrations: text, connections: text },
    required: ['account', 'env', 'user'],
    async run(session, args) {
      const list = (name: string) => args.option(name)?.split(',').map((id) => id.trim()).filter((id) => id !== '');
      const body = { flows: list('flows'), integrations: list('integrations'), connections: list('connections') };
      const result = await putSubscriptions(session.db(), { actor: 'operator (herald subscriptions set)', account: args.required('account'), environment: args.required('env'), email: args.required('user'), body });
      if (!result) throw new UsageError(`${args.required('user')} or ${args.required('env')} is not of ${args.required('account')}`);
      return print(JSON.stringify(result.entity));
    },
  },
  'connections status': {
    summary: 'report a connection online or offline',
    usage: '--env ENV --connection ID (--online | --offline) [--reason TEXT]',
    description: `Reports a connection's status. A real change is emailed to the connection's subscribers; an
offline that recovers within HERALD_CONNECTION_GRACE sends nothing.`,
    options: { env: text, connection: text, online: flag, offline: flag, reason: text },
    required: ['env', 'connection'],
    run: async (session, args) => {
      const online = args.flag('online');
      if (online === args.flag('offline')) throw new UsageError('give one of --online or --offline');
      const result = await (await session.client()).reportConnectionStatus({
        environment: args.required('env'),
        connection: args.required('connection'),
        status: online ? 'online' : 'offline',
        reason: args.option('reason'),
      });
      return print(result.changed ? 'status changed' : 'status unchanged (a repeat)');
    },
  },
  'digest now': {
    summary: 'run a digest cycle of ENV now and print its summary',
    usage: '--env ENV [--wait DURATION]',
    description: `Runs a digest cycle of the environment now (emails included) and prints its summary. Waits at
most DURATION (default 2m; 30s, 5m…): a cycle held back by a mail server outage goes on in the
background, and the command says what is pending and why (exit code 3).`,
    options: { env: text, wait: text },
    required: ['env'],
    run: digestNow,
  },
  'digest remind': {
    summary: 'remind the users of ENV now of errors left open',
    usage: '--env ENV [--wait DURATION]',
    description: `Looks now, not at the digest's next hourly look, for errors open longer than the environment's
threshold (remindAfter in the catalog, default 3 days) and emails a reminder to each user who
follows their flows, unless they had one in the last day. Waits at most DURATION (default 2m).`,
    options: { env: text, wait: text },
    required: ['env'],
    run: digestRemind,
  },
  'digest interval': {
    summary: "change how often an environment's digest runs",
    usage: '--env ENV DURATION|default',
    description: `Changes the time between the environment's digest cycles (30s, 15m, 1h; from 1s to 7 days). The
next cycle comes DURATION after the last one. The choice outlives worker restarts and deploys: a
new HERALD_DIGEST_INTERVAL does not change it. "default" hands the digest back to the workers'
HERALD_DIGEST_INTERVAL, from its next cycle.`,
    options: { env: text },
    required: ['env'],
    run: digestInterval,
  },
  'digest ensure': {
    summary: 'make sure every environment has its digest workflow',
    usage: '',
    description: `Starts the digest workflow of every environment that has none running (after a namespace was
reset, or a digest was terminated by hand), a few at a time; running digests are left as they
are. Worker starts, catalog applies and the API start the digests of new environments by
themselves: this is for repairs.`,
    run: digestEnsure,
  },
  'digest preview': {
    summary: "write a user's next digest to an HTML file, sending nothing",
    usage: '--env ENV --user EMAIL --out FILE.html',
    description: `Renders what the user's next digest of ENV would hold, as it stands now, into FILE.html (and its
plain-text part next to it, FILE.txt). Nothing is sent and nothing changes: the next cycle is
worked out inside a database transaction that is rolled back.`,
    options: { env: text, user: text, out: text },
    required: ['env', 'user', 'out'],
    run: digestPreview,
  },
  'status': {
    summary: 'each environment: digest, deliveries, open and retrying errors, connections',
    usage: '',
    description: `Shows each environment: its digest workflow (last cycle, next cycle, or the cycle running),
emails waiting to be delivered and the last delivery error, open and retrying errors, and the
status of its connections.`,
    run: status,
  },
  'simulate': {
    summary: 'drive the demo catalog: failures, retries, recoveries, connections',
    usage: '',
    description: `Drives the demo catalog (examples/catalog.yaml, loaded by "npm start" into an empty database):
flows that fail in production, sandbox and staging; intermittent errors, one that recovers and
one that does not; records that succeed later; a connection that flaps and one that goes down;
then a digest cycle in each environment, and the production digest's reader resolving an error and
snoozing a group by the email's links, on Herald's server (HERALD_APP_URL). Watch the mail catcher
and the Temporal UI.`,
    run: async (session) => {
      const { simulateDemo } = await import('./simulate.js');
      // The secret the emails' links are signed with: the environment's, or the one npm start keeps.
      const secret = session.config.secret ?? keptSecret(localStateFolders(session.config.dataDir).data, { make: false });
      const emailLinks = secret === undefined ? undefined : { appUrl: session.config.appUrl, secret };
      await simulateDemo({ client: await session.client(), temporal: await session.temporal(), db: session.db(), log: print, emailLinks });
      return print('Done. Open the mail catcher (http://127.0.0.1:8025) and the Temporal UI (http://127.0.0.1:8233).');
    },
  },
};

export const intro = `herald — notifications for integration flows

Usage: herald <command> [options]`;
export const outro = `Run "herald <command> --help" for a command's options.
Environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, HERALD_TASK_QUEUE,
HERALD_DIGEST_INTERVAL (see the README). Unset, they point at what "npm start" runs.`;

/** Runs the command `argv` names; answers its exit status, or throws what {@link exitOnFailure} reports. */
export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommand(commands, argv);
  if (parsed.kind === 'help') return print(helpText(commands, parsed.text, intro, outro));
  const session = new Session(loadConfig());
  currentSession = session;
  try {
    return await parsed.command.run(session, parsed.args);
  } finally {
    await session.close();
  }
}

async function catalogApply(session: Session, args: CommandArgs): Promise<number> {
  const file = args.positionals[0];
  if (!file) throw new UsageError('catalog apply needs a FILE');
  let catalog: unknown;
  try {
    catalog = await readCatalogFile(file);
  } catch (error) {
    throw error instanceof CatalogFileError ? new UsageError(error.message) : error;
  }
  const changes = await applyCatalog(session.db(), catalog, { actor: 'operator (herald catalog apply)', channelPolicy: { allow: session.config.channelAllow } });
  const changed = Object.entries(changes).filter(([, n]) => n > 0);
  print(changed.length ? `applied: ${changed.map(([table, n]) => `${n} ${table}`).join(', ')}` : 'applied: nothing changed');
  try {
    const { ensureDigestWorkflows } = await temporalSide();
    // New digests take HERALD_DIGEST_INTERVAL; running ones keep theirs (`herald digest interval` changes it).
    const digests = await ensureDigestWorkflows({
      intervalMs: session.config.digestIntervalMs,
      temporal: await session.temporal(),
      db: session.db(),
      taskQueue: session.config.taskQueue,
      scope: 'new',
    });
    print(`digest workflows started: ${digests.map((id) => `digest/${id}`).join(', ') || 'none new'}`);
  } catch (error) {
    console.error(`herald: digest workflows not ensured (Temporal unreachable?): ${(error as Error).message}`);
    cliLog().warn({ err: error, command: 'catalog apply' }, 'digest workflows not ensured');
  }
  return 0;
}

async function errorsReport(session: Session, args: CommandArgs): Promise<number> {
  const file = args.option('file');
  let errors: ReportedError[];
  if (file) {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!Array.isArray(parsed)) throw new UsageError(`${file} must hold a JSON list of errors`);
    errors = parsed as ReportedError[];
  } else {
    errors = [
      {
        traceKey: args.required('trace-key'),
        message: args.required('message'),
        code: args.option('code'),
        step: args.option('step'),
        intermittent: args.flag('intermittent') || undefined,
      },
    ];
  }
  const result = await (await session.client()).reportErrors({
    environment: args.required('env'),
    flow: args.required('flow'),
    reportId: args.option('report'),
    retryActivity: args.option('retry-activity'),
    errors,
  });
  return print(
    `stored ${result.stored} (${result.open} open, ${result.retrying} retrying), ` +
      `${result.duplicates} duplicate, ${result.superseded} superseded; report ${result.reportId}`,
  );
}

/** `--wait`: how long a command waits for its digest workflow's answer (default 2 minutes). */
function waitOption(args: CommandArgs): { waitText: string; waitMs: number } {
  const waitText = args.option('wait') ?? '2m';
  const waitMs = parseDuration(waitText);
  if (waitMs === undefined || waitMs < 1_000) throw new UsageError('--wait must be a duration of at least 1s, such as 30s or 2m');
  return { waitText, waitMs };
}

/** The answer, or undefined if it has not come within `waitMs` (the work goes on in the workflow). */
async function within<T>(answer: Promise<T>, waitMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
}

async function digestNow(session: Session, args: CommandArgs): Promise<number> {
  const environment = args.required('env');
  const { updateUntilTaken, runCycleNowUpdate, digestStatusQuery } = await temporalSide();
  const { waitText, waitMs } = waitOption(args);
  const handle = (await session.temporal()).workflow.getHandle(environmentDigestWorkflowId(environment));
  const summary = await within(updateUntilTaken(() => handle.executeUpdate(runCycleNowUpdate)), waitMs);
  if (summary) {
    // The other kinds the environment notified since the cycle before, in the same tally (S49).
    const others = Object.entries(summary.tally ?? {}).filter(([kind]) => kind !== 'digest');
    const since = others.length === 0 ? '' : `; since the cycle before: ${others.map(([kind, byTransport]) => `${kind} (${describeNotifications(byTransport)})`).join(', ')}`;
    return print(`cycle ${summary.number}: ${summary.newErrors} new, ${summary.resolvedErrors} resolved; ${summary.notifications ? describeNotifications(summary.notifications) : describeTally(summary)}${since}`);
  }
  const status = await handle.query(digestStatusQuery).catch(() => undefined);
  const pending = await createDeliveryStore(session.db()).pendingSummary(environment);
  console.error(
    `herald: the cycle of ${environment} is still running after ${waitText}` +
      `${status?.runningSince ? ` (since ${status.runningSince})` : ''}: ${describePending(pending)}. ` +
      'It goes on in the background; "herald status" follows it.',
  );
  return 3;
}

async function digestRemind(session: Session, args: CommandArgs): Promise<number> {
  const environment = args.required('env');
  const { updateUntilTaken, remindNowUpdate } = await temporalSide();
  const { waitText, waitMs } = waitOption(args);
  const handle = (await session.temporal()).workflow.getHandle(environmentDigestWorkflowId(environment));
  const round = await within(updateUntilTaken(() => handle.executeUpdate(remindNowUpdate)), waitMs);
  if (!round) {
    const pending = await createDeliveryStore(session.db()).pendingSummary(environment);
    console.error(`herald: the reminders of ${environment} are still being sent after ${waitText}: ${describePending(pending)}. It goes on in the background.`);
    return 3;
  }
  if (round.planned === 0) return print(`${environment}: nobody to remind (no error open past the threshold, or reminded in the last day)`);
  return print(`${environment}: ${round.planned} user(s) reminded; ${describeTally(round)}`);
}

/** Each transport's tally (S49): "email: 3 sent, 1 failed; slack: 1 sent; pagerduty: 1 refused for now". */
function describeNotifications(byTransport: Record<string, { sent: number; failed: number; deferred: number; cancelled: number }>): string {
  const words = { sent: 'sent', failed: 'failed', deferred: 'refused for now (tried again later)', cancelled: 'cancelled' } as const;
  return Object.entries(byTransport)
    .map(([transport, tally]) => `${transport}: ${(Object.keys(words) as (keyof typeof words)[]).filter((k) => tally[k] > 0).map((k) => `${tally[k]} ${words[k]}`).join(', ')}`)
    .join('; ');
}

/** "3 email(s) sent, 1 failed", and those refused for now or cancelled, if any. */
function describeTally(tally: { sent: number; failed: number; deferred?: number; cancelled?: number }): string {
  const also = [tally.deferred ? `${tally.deferred} refused for now (tried again later)` : '', tally.cancelled ? `${tally.cancelled} cancelled` : ''];
  return `${tally.sent} email(s) sent, ${tally.failed} failed${also.filter(Boolean).map((a) => `, ${a}`).join('')}`;
}

async function digestEnsure(session: Session): Promise<number> {
  const { ensureDigestWorkflows } = await temporalSide();
  const ensured = await ensureDigestWorkflows({
    temporal: await session.temporal(),
    db: session.db(),
    taskQueue: session.config.taskQueue,
    intervalMs: session.config.digestIntervalMs,
    scope: 'all',
  });
  return print(`digest workflows ensured: ${ensured.length} environment(s)`);
}

async function digestInterval(session: Session, args: CommandArgs): Promise<number> {
  const environment = args.required('env');
  const text = args.positionals[0];
  const ms = text === 'default' ? null : text === undefined ? undefined : parseDuration(text);
  if (ms === undefined) throw new UsageError('digest interval needs a DURATION, such as 30s, 15m or 1h, or "default"');
  const { updateUntilTaken, setIntervalUpdate, asInputError } = await temporalSide();
  const handle = (await session.temporal()).workflow.getHandle(environmentDigestWorkflowId(environment));
  const status = await updateUntilTaken(() => handle.executeUpdate(setIntervalUpdate, { args: [ms] })).catch((error: unknown) => {
    throw asInputError(error) ?? error;
  });
  if (ms === null) return print(`digest of ${environment}: follows the workers' HERALD_DIGEST_INTERVAL from its next cycle`);
  return print(`digest of ${environment}: every ${text}, kept across deploys; next cycle at ${status.nextCycleAt}`);
}

/** Pending deliveries in words: how many, how many refused for now and when next tried, and the last error. */
function describePending(p: PendingSummary): string {
  const deferred = p.deferred > 0 ? ` (${p.deferred} refused for now, next try at ${p.nextRetryAt?.toISOString()})` : '';
  return `${p.pending} email(s) pending${deferred}${p.lastError ? `; last delivery error: ${p.lastError}` : ''}`;
}

async function digestPreview(session: Session, args: CommandArgs): Promise<number> {
  const environment = args.required('env');
  const user = args.required('user');
  const out = args.required('out');
  if (!/\.html?$/i.test(out)) throw new UsageError('--out must name an .html file');
  // Loaded when used: the email renderer (MJML) is most of the command line's start-up.
  const { previewDigest, PreviewError } = await import('../email/digest-preview.js');
  let preview;
  try {
    preview = await previewDigest(session.db(), environment, user, session.config.appUrl);
  } catch (error) {
    if (error instanceof PreviewError) throw new UsageError(error.message);
    throw error;
  }
  if (preview.kind === 'nothing') {
    return print(
      `cycle ${preview.cycle} of ${environment} would send ${user} nothing: ${preview.reason}\n` +
        `${out} is not written (there is no email to show). Report an error in a flow ${user} follows (herald errors report …), then preview again.`,
    );
  }
  const textFile = out.replace(/\.html?$/i, '.txt');
  await writeFile(out, preview.rendered.html);
  await writeFile(textFile, preview.rendered.text);
  return print(
    `cycle ${preview.cycle} of ${environment} would email ${user}: "${preview.subject}" ` +
      `(${preview.newCount} new, ${preview.resolvedCount} resolved, ${preview.openCount} open)\nwritten: ${out}, ${textFile}`,
  );
}

async function status(session: Session): Promise<number> {
  const db = session.db();
  const environments = await environmentOverviews(db);
  const temporal = await session.temporal().catch(() => undefined);
  const { digestStatusQuery, connectionStatusQuery } = await temporalSide();
  for (const env of environments) {
    let digest = 'digest workflow unreachable (is Temporal running?)';
    if (temporal) {
      try {
        const s = await temporal.workflow.getHandle(environmentDigestWorkflowId(env.id)).query(digestStatusQuery);
        digest =
          s.state === 'running cycle'
            ? `digest running cycle ${s.lastCycle + 1} since ${s.runningSince}`
            : `digest ${s.state}, last cycle ${s.lastCycle}, next at ${s.nextCycleAt}`;
        if (s.lastRefusal) digest += `; last refused: ${s.lastRefusal}`;
      } catch {
        digest = 'no running digest workflow (apply the catalog or start the worker)';
      }
    }
    const pending = await createDeliveryStore(db).pendingSummary(env.id);
    print(`${env.id} (${env.name}${env.production ? '' : ', non-production'})`);
    print(`  ${digest}`);
    if (pending.pending > 0) print(`  deliveries: ${describePending(pending)}`);
    print(`  errors: ${env.open} open, ${env.retrying} retrying`);
    for (const c of env.connections) {
      // The workflow knows the latest report (also one still inside its grace period); the database, the last notified.
      const live = temporal
        ? await temporal.workflow.getHandle(connectionStatusWorkflowId(c.id)).query(connectionStatusQuery).catch(() => undefined)
        : undefined;
      const current = live?.current ?? (c.status ? { status: c.status, since: c.since!.toISOString() } : undefined);
      print(`  connection ${c.id}: ${current ? `${current.status} since ${current.since}` : 'no report yet'}`);
    }
  }
  return 0;
}

async function errorsSnooze(session: Session, args: CommandArgs): Promise<number> {
  const environment = args.required('env');
  const [flow, group, until, duration, events] = ['flow', 'group', 'until', 'for', 'events'].map((name) => args.option(name));
  const request = {
    environment,
    user: args.required('user'),
    ...(args.positionals.length > 0 && { errorIds: args.positionals.map(Number) }),
    ...((flow !== undefined || group !== undefined) && { group: { flow, group } }),
    ...(until !== undefined && { until }),
    ...(duration !== undefined && { for: duration }),
    ...(events !== undefined && { events: Number(events) }),
  };
  const checked = check(snoozeRequestSchema, request, '(request)');
  if (checked.problems) throw new InputRefusedError(checked.problems);
  const body = checked.value;
  const now = new Date();
  const snoozed = await createSnoozeStore(session.db()).snooze(
    { environment, user: body.user, errorIds: body.errorIds, group: body.group && { flow: body.group.flow, key: body.group.group }, until: snoozeEnd(body, now), events: body.events },
    now,
    // The digest learns of it now, or at its next look when Temporal cannot be reached.
    (env) =>
      session
        .client()
        .then((client) => client.tellDigest(env))
        .catch(() => void print('(the digest takes it at its next look: Temporal did not answer)')),
  );
  return print(`snoozed ${snoozed.errors.length} error(s) ${snoozed.until ? `until ${snoozed.until}` : `until ${snoozed.events} more of them`}: ${snoozed.errors.join(', ')}`);
}

async function errorsList(session: Session, args: CommandArgs): Promise<number> {
  const status = args.option('status');
  if (status !== undefined && !errorStatuses.includes(status as ErrorStatus)) {
    throw new UsageError(`--status must be one of ${errorStatuses.join(', ')}`);
  }
  const limit = Number(args.option('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
  const errors = await createErrorStore(session.db()).listErrors({
    environment: args.option('env'),
    flow: args.option('flow'),
    status: status as ErrorStatus | undefined,
    limit,
  });
  if (args.flag('json')) return print(JSON.stringify(errors, null, 2));
  for (const e of errors) {
    print(`${String(e.id).padStart(6)}  ${e.status.padEnd(13)} ${e.environment}/${e.flow}  ${e.traceKey}  ${e.message.slice(0, 80)}`);
  }
  return print(`${errors.length} error(s)`);
}

/** Connections opened on first use, closed at the end. */
class Session {
  private database: Knex | undefined;
  private connection: Connection | undefined;
  private heraldClient: HeraldClient | undefined;
  constructor(readonly config: HeraldConfig) {}

  db(): Knex {
    this.database ??= connectDatabase(this.config.databaseUrl ?? embeddedDefaults.databaseUrl, { max: 4 }, { quiet: true });
    return this.database;
  }

  async temporal(): Promise<Client> {
    const address = this.config.temporalAddress ?? embeddedDefaults.temporalAddress;
    const { Connection, createTemporalClient } = await temporalSide();
    try {
      this.connection ??= await Connection.connect({ address, connectTimeout: '5 seconds' });
    } catch (error) {
      throw new UnreachableError('Temporal', address, 'TEMPORAL_ADDRESS', error);
    }
    return createTemporalClient(this.connection, this.config.temporalNamespace);
  }

  /** The database's host:port, to name it when it cannot be reached. */
  databaseAddress(): string {
    return databaseAddress(this.config.databaseUrl ?? embeddedDefaults.databaseUrl);
  }

  async client(): Promise<HeraldClient> {
    const { HeraldClient } = await temporalSide();
    this.heraldClient ??= new HeraldClient({ temporal: await this.temporal(), taskQueue: this.config.taskQueue });
    return this.heraldClient;
  }

  async close(): Promise<void> {
    await this.database?.destroy();
    await this.connection?.close();
  }
}

function print(text: string): number {
  console.log(text);
  return 0;
}

let currentSession: Session | undefined;

/** Says what failed, in one line where the cause is the caller's (exit 2) or a service out of reach (exit 1), and exits. */
export function exitOnFailure(error: unknown): never {
  const database = currentSession?.databaseAddress();
  if (database && refusedConnectionTo(error, database)) error = new UnreachableError('PostgreSQL', database, 'DATABASE_URL', error);
  if (error instanceof UnreachableError) {
    console.error(`herald: ${error.message}`);
    process.exit(1);
  }
  if (error instanceof InputRefusedError) {
    console.error(`herald: ${error.heading}:`);
    for (const p of error.problems) console.error(`  ${p.field}: ${p.message}`);
    process.exit(2);
  }
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof EntityTaken || error instanceof EntityChanged || error instanceof ChosenByUser) {
    console.error(`herald: ${error.message}`);
    process.exit(2);
  }
  console.error('herald:', error instanceof Error ? error.message : error);
  // What failed, with its stack, for whoever reads the logs of scripted runs (standard error, JSON).
  cliLog().error({ err: error, command: process.argv[2] }, 'command failed');
  process.exit(1);
}

/** The command line's log (observability/log.ts) on standard error: its output stays on standard output. */
function cliLog(): Logger {
  let level: LogLevel = 'info';
  try {
    level = loadConfig().logLevel;
  } catch {
    // A bad HERALD_LOG_LEVEL was named already; the log still says what failed.
  }
  return heraldLogger('herald-cli', level, pino.destination({ fd: 2, sync: true }));
}
