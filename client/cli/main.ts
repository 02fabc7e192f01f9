/**
 * The `herald` command line, for operators and scripts. Without DATABASE_URL and
 * TEMPORAL_ADDRESS it talks to what `npm start` runs on this machine.
 */
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError, loadConfig, type HeraldConfig } from '../../config/config.js';
import { connectDatabase, migrateLatest } from '../../stores/database.js';
import { applyCatalog } from '../../catalog/catalog.js';
import { CatalogFileError, readCatalogFile } from '../../catalog/catalog-file.js';
import { CatalogError } from '../../catalog/catalog-error.js';
import { errorStatuses, type ErrorStatus } from '../../contracts/errors.js';
import type { ReportedError } from '../../contracts/error-report.js';
import { HeraldClient } from '../herald-client.js';
import { createErrorStore } from '../../stores/error-store.js';
import { createDeliveryStore, type PendingSummary } from '../../stores/delivery-store.js';
import { parseDuration } from '../../config/duration.js';
import { HeraldInputError } from '../herald-input-error.js';
import { ensureDigestWorkflows } from '../digests.js';
import { previewDigest, PreviewError } from '../../email/digest-preview.js';
import { simulateDemo } from '../simulate.js';
import { digestStatusQuery, runCycleNowUpdate, setIntervalUpdate } from '../../workflows/environment-digest.js';
import { connectionStatusWorkflowId, environmentDigestWorkflowId } from '../../workflows/workflow-ids.js';
import { connectionStatusQuery } from '../../workflows/connection-status.js';
import { option, parseArgs, requiredOption, UsageError, type ParsedArgs } from './args.js';

/** Where `npm start` runs its embedded services (see worker/start.ts). */
const embeddedDefaults = {
  databaseUrl: 'postgres://postgres:herald@127.0.0.1:54329/herald',
  temporalAddress: '127.0.0.1:7233',
};

const help: Record<string, string> = {
  '': `herald — notifications for integration flows

Usage: herald <command> [options]

Commands:
  db migrate                 apply database migrations
  catalog apply FILE         declare accounts, users, environments, integrations, flows,
                             connections and subscriptions from a JSON or YAML file
  errors report ...          report errors of a flow run
  errors succeed ...         report records of a flow that succeeded (auto-resolve)
  errors resolve ...         resolve errors as a user
  errors list ...            list errors
  connections status ...     report a connection online or offline
  digest now --env ENV       run a digest cycle of ENV now and print its summary
  digest interval ...        change how often an environment's digest runs
  digest preview ...         write a user's next digest to an HTML file, sending nothing
  status                     each environment: digest, open and retrying errors, connections
  simulate                   drive the demo catalog: failures, retries, recoveries, connections

Run "herald <command> --help" for a command's options.
Environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, HERALD_TASK_QUEUE,
HERALD_DIGEST_INTERVAL (see the README). Unset, they point at what "npm start" runs.`,
  'db migrate': `Usage: herald db migrate
Applies every pending migration to DATABASE_URL.`,
  'catalog apply': `Usage: herald catalog apply FILE
Upserts the catalog in FILE (.json, .yaml or .yml); applying it twice changes nothing.
A bad catalog is refused whole, with each problem at its path, and nothing is written.
Then makes sure each environment has its digest workflow (when Temporal is reachable).`,
  'errors report': `Usage: herald errors report --env ENV --flow FLOW [--batch ID] [--retry-activity TYPE]
         (--file ERRORS.json | --trace-key KEY --message TEXT [--code CODE] [--step STEP] [--intermittent])
Reports errors of one flow run; returns once they are stored. ERRORS.json holds a list of
{ "traceKey", "message", "code"?, "step"?, "id"?, "occurredAt"?, "intermittent"?, "record"? }.`,
  'errors succeed': `Usage: herald errors succeed --env ENV --flow FLOW TRACE_KEY...
Reports records that succeeded: their open errors auto-resolve where the flow allows it.`,
  'errors resolve': `Usage: herald errors resolve --env ENV --user EMAIL ERROR_ID...
Resolves errors as the named user of the account.`,
  'connections status': `Usage: herald connections status --env ENV --connection ID (--online | --offline) [--reason TEXT]
Reports a connection's status. A real change is emailed to the connection's subscribers; an
offline that recovers within HERALD_CONNECTION_GRACE sends nothing.`,
  'digest now': `Usage: herald digest now --env ENV [--wait DURATION]
Runs a digest cycle of the environment now (emails included) and prints its summary. Waits at
most DURATION (default 2m; 30s, 5m…): a cycle held back by a mail server outage goes on in the
background, and the command says what is pending and why (exit code 3).`,
  'digest interval': `Usage: herald digest interval --env ENV DURATION
Changes the time between the environment's digest cycles (30s, 15m, 1h; from 1s to 7 days). The
next cycle comes DURATION after the last one. A worker that starts sets its HERALD_DIGEST_INTERVAL.`,
  'digest preview': `Usage: herald digest preview --env ENV --user EMAIL --out FILE.html
Renders what the user's next digest of ENV would hold, as it stands now, into FILE.html (and its
plain-text part next to it, FILE.txt). Nothing is sent and nothing changes: the next cycle is
worked out inside a database transaction that is rolled back.`,
  simulate: `Usage: herald simulate
Drives the demo catalog (examples/catalog.yaml, loaded by "npm start" into an empty database):
flows that fail in production, sandbox and staging; intermittent errors, one that recovers and
one that does not; records that succeed later; a connection that flaps and one that goes down;
then a digest cycle in each environment. Watch the mail catcher and the Temporal UI.`,
  status: `Usage: herald status
Shows each environment: its digest workflow (last cycle, next cycle, or the cycle running),
emails waiting to be delivered and the last delivery error, open and retrying errors, and the
status of its connections.`,
  'errors list': `Usage: herald errors list [--env ENV] [--flow FLOW] [--status ${errorStatuses.join('|')}] [--limit N] [--json]
Lists errors, newest first.`,
};

async function main(argv: string[]): Promise<number> {
  const [group, action] = argv;
  const command = [group, action].filter((w) => w && !w.startsWith('--')).join(' ');
  if (!group || group === '--help' || group === 'help') return print(help['']!);
  if (!(command in help)) throw new UsageError(`unknown command "${command}"; see herald --help`);
  const args = parseArgs(argv.slice(command.split(' ').length), ['help', 'json', 'intermittent', 'online', 'offline']);
  if (args.options.has('help')) return print(help[command]!);
  const config = loadConfig();
  const session = new Session(config);
  try {
    switch (command) {
      case 'db migrate': {
        const applied = await migrateLatest(session.db());
        return print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      }
      case 'catalog apply':
        return await catalogApply(session, args);
      case 'errors report':
        return await errorsReport(session, args);
      case 'errors succeed': {
        const result = await (await session.client()).reportSuccesses({
          environment: requiredOption(args, 'env'),
          flow: requiredOption(args, 'flow'),
          traceKeys: args.positionals,
        });
        return print(
          result.autoResolveOff
            ? 'auto-resolve is off for this flow: nothing changed'
            : `${result.resolved} error(s) auto-resolved, ${result.recovered} recovered from their retry window`,
        );
      }
      case 'errors resolve': {
        const ids = args.positionals.map(Number);
        const resolved = await (await session.client()).resolveErrors({
          environment: requiredOption(args, 'env'),
          user: requiredOption(args, 'user'),
          errorIds: ids,
        });
        return print(`resolved ${resolved.length} of ${ids.length}: ${resolved.join(', ') || 'none (already resolved)'}`);
      }
      case 'errors list':
        return await errorsList(session, args);
      case 'digest now':
        return await digestNow(session, args);
      case 'digest interval':
        return await digestInterval(session, args);
      case 'digest preview':
        return await digestPreview(session, args);
      case 'status':
        return await status(session);
      case 'simulate':
        await simulateDemo({ client: await session.client(), temporal: await session.temporal(), log: print });
        return print('Done. Open the mail catcher (http://127.0.0.1:8025) and the Temporal UI (http://127.0.0.1:8233).');
      case 'connections status': {
        const online = args.options.has('online');
        if (online === args.options.has('offline')) throw new UsageError('give one of --online or --offline');
        const result = await (await session.client()).reportConnectionStatus({
          environment: requiredOption(args, 'env'),
          connection: requiredOption(args, 'connection'),
          status: online ? 'online' : 'offline',
          reason: option(args, 'reason'),
        });
        return print(result.changed ? 'status changed' : 'status unchanged (a repeat)');
      }
    }
    return 0;
  } finally {
    await session.close();
  }
}

async function catalogApply(session: Session, args: ParsedArgs): Promise<number> {
  const file = args.positionals[0];
  if (!file) throw new UsageError('catalog apply needs a FILE');
  let catalog: unknown;
  try {
    catalog = await readCatalogFile(file);
  } catch (error) {
    throw error instanceof CatalogFileError ? new UsageError(error.message) : error;
  }
  const changes = await applyCatalog(session.db(), catalog);
  const changed = Object.entries(changes).filter(([, n]) => n > 0);
  print(changed.length ? `applied: ${changed.map(([table, n]) => `${n} ${table}`).join(', ')}` : 'applied: nothing changed');
  try {
    // New digests take HERALD_DIGEST_INTERVAL; running ones keep theirs (`herald digest interval` changes it).
    const digests = await ensureDigestWorkflows({
      intervalMs: session.config.digestIntervalMs,
      temporal: await session.temporal(),
      db: session.db(),
      taskQueue: session.config.taskQueue,
    });
    print(`digest workflows: ${digests.map((id) => `digest/${id}`).join(', ') || 'none'}`);
  } catch (error) {
    console.error(`herald: digest workflows not ensured (Temporal unreachable?): ${(error as Error).message}`);
  }
  return 0;
}

async function errorsReport(session: Session, args: ParsedArgs): Promise<number> {
  const file = option(args, 'file');
  let errors: ReportedError[];
  if (file) {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!Array.isArray(parsed)) throw new UsageError(`${file} must hold a JSON list of errors`);
    errors = parsed as ReportedError[];
  } else {
    errors = [
      {
        traceKey: requiredOption(args, 'trace-key'),
        message: requiredOption(args, 'message'),
        code: option(args, 'code'),
        step: option(args, 'step'),
        intermittent: args.options.has('intermittent') || undefined,
      },
    ];
  }
  const result = await (await session.client()).reportErrors({
    environment: requiredOption(args, 'env'),
    flow: requiredOption(args, 'flow'),
    batchId: option(args, 'batch'),
    retryActivity: option(args, 'retry-activity'),
    errors,
  });
  return print(
    `stored ${result.stored} (${result.open} open, ${result.retrying} retrying), ` +
      `${result.duplicates} duplicate, ${result.superseded} superseded; batch ${result.batchId}`,
  );
}

async function digestNow(session: Session, args: ParsedArgs): Promise<number> {
  const environment = requiredOption(args, 'env');
  const waitText = option(args, 'wait') ?? '2m';
  const waitMs = parseDuration(waitText);
  if (waitMs === undefined || waitMs < 1_000) throw new UsageError('--wait must be a duration of at least 1s, such as 30s or 2m');
  const handle = (await session.temporal()).workflow.getHandle(environmentDigestWorkflowId(environment));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const summary = await Promise.race([
    handle.executeUpdate(runCycleNowUpdate),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (summary) {
    const also = [summary.deferred ? `${summary.deferred} refused for now (tried again later)` : '', summary.cancelled ? `${summary.cancelled} cancelled` : ''];
    return print(
      `cycle ${summary.number}: ${summary.newErrors} new, ${summary.resolvedErrors} resolved; ` +
        `${summary.sent} email(s) sent, ${summary.failed} failed${also.filter(Boolean).map((a) => `, ${a}`).join('')}`,
    );
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

async function digestInterval(session: Session, args: ParsedArgs): Promise<number> {
  const environment = requiredOption(args, 'env');
  const text = args.positionals[0];
  const ms = text === undefined ? undefined : parseDuration(text);
  if (ms === undefined) throw new UsageError('digest interval needs a DURATION, such as 30s, 15m or 1h');
  const handle = (await session.temporal()).workflow.getHandle(environmentDigestWorkflowId(environment));
  let status;
  try {
    status = await handle.executeUpdate(setIntervalUpdate, { args: [ms] });
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    if (cause?.name === 'ApplicationFailure' || /HeraldInputError/.test(String(cause))) throw new UsageError(cause!.message);
    throw error;
  }
  return print(`digest of ${environment}: every ${text}; next cycle at ${status.nextCycleAt}`);
}

/** Pending deliveries in words: how many, how many refused for now and when next tried, and the last error. */
function describePending(p: PendingSummary): string {
  const deferred = p.deferred > 0 ? ` (${p.deferred} refused for now, next try at ${p.nextRetryAt?.toISOString()})` : '';
  return `${p.pending} email(s) pending${deferred}${p.lastError ? `; last delivery error: ${p.lastError}` : ''}`;
}

async function digestPreview(session: Session, args: ParsedArgs): Promise<number> {
  const environment = requiredOption(args, 'env');
  const user = requiredOption(args, 'user');
  const out = requiredOption(args, 'out');
  if (!/\.html?$/i.test(out)) throw new UsageError('--out must name an .html file');
  let preview;
  try {
    preview = await previewDigest(session.db(), environment, user, session.config.appUrl);
  } catch (error) {
    if (error instanceof PreviewError) throw new UsageError(error.message);
    throw error;
  }
  if (preview.kind === 'nothing') return print(`cycle ${preview.cycle} of ${environment} would send ${user} nothing: ${preview.reason}`);
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
  const environments: { id: string; name: string; production: boolean }[] = await db('environments').orderBy('id').select('id', 'name', 'production');
  const counts: { environment_id: string; status: string; n: number }[] = await db('errors')
    .whereIn('status', ['open', 'retrying'])
    .groupBy('environment_id', 'status')
    .select('environment_id', 'status', db.raw('count(*)::int as n'));
  const connections: { id: string; name: string; environment: string; status: string | null; since: Date | null }[] = await db('connections as c')
    .join('environments as e', 'e.resource_group', 'c.resource_group')
    .leftJoin('connection_status as s', 's.connection_id', 'c.id')
    .orderBy(['e.id', 'c.id'])
    .select('c.id', 'c.name', 'e.id as environment', 's.status', 's.since');
  const temporal = await session.temporal().catch(() => undefined);
  for (const env of environments) {
    const count = (status: string) => counts.find((c) => c.environment_id === env.id && c.status === status)?.n ?? 0;
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
    print(`  errors: ${count('open')} open, ${count('retrying')} retrying`);
    for (const c of connections.filter((c) => c.environment === env.id)) {
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

async function errorsList(session: Session, args: ParsedArgs): Promise<number> {
  const status = option(args, 'status');
  if (status !== undefined && !errorStatuses.includes(status as ErrorStatus)) {
    throw new UsageError(`--status must be one of ${errorStatuses.join(', ')}`);
  }
  const limit = Number(option(args, 'limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
  const errors = await createErrorStore(session.db()).listErrors({
    environment: option(args, 'env'),
    flow: option(args, 'flow'),
    status: status as ErrorStatus | undefined,
    limit,
  });
  if (args.options.has('json')) return print(JSON.stringify(errors, null, 2));
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
    this.database ??= connectDatabase(this.config.databaseUrl ?? embeddedDefaults.databaseUrl, { max: 4 });
    return this.database;
  }

  async temporal(): Promise<Client> {
    this.connection ??= await Connection.connect({
      address: this.config.temporalAddress ?? embeddedDefaults.temporalAddress,
      connectTimeout: '5 seconds',
    });
    return new Client({ connection: this.connection, namespace: this.config.temporalNamespace });
  }

  async client(): Promise<HeraldClient> {
    this.heraldClient ??= new HeraldClient({ temporal: await this.temporal(), taskQueue: this.config.taskQueue, db: this.db() });
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof HeraldInputError || error instanceof CatalogError) {
      console.error(`herald: refused: ${error instanceof CatalogError ? error.message : ''}`);
      if (error instanceof HeraldInputError) for (const p of error.problems) console.error(`  ${p.field}: ${p.message}`);
      process.exit(2);
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`herald: ${error.message}`);
      process.exit(2);
    }
    console.error('herald:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
