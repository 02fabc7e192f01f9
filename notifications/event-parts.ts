/** What the kinds' channel events are made of: an error's line, an environment's frame and links, error rows. */
import type { Knex } from 'knex';
import { errorRowColumns, toErrorRow, type DigestErrorRow } from '../stores/digest-store.js';
import { emailFrame } from '../email/email-frame.js';
import { eventLines, type ErrorLine } from '../channels/events.js';

/** One error as an event lists it, with its page. */
export const errorLine = (frame: ReturnType<typeof emailFrame>, row: DigestErrorRow): ErrorLine => ({
  errorId: row.id,
  flow: row.flowName,
  integration: row.integrationName,
  traceKey: row.traceKey,
  message: row.message,
  code: row.code,
  occurredAt: row.occurredAt.toISOString(),
  count: row.group?.size ?? 1,
  url: frame.link(`errors/${row.id}`),
});

/** The environment and account of a message, its reminder threshold, and its links. */
export async function frameOf(db: Knex, appUrl: string, environmentId: string) {
  const row = await db('environments as e').join('accounts as a', 'a.id', 'e.account_id').where('e.id', environmentId).first('e.id', 'e.name', 'e.production', 'e.remind_after_ms', 'a.id as account_id', 'a.name as account_name');
  const environment = { id: row.id as string, name: row.name as string, production: row.production as boolean };
  return { environment, account: { id: row.account_id as string, name: row.account_name as string }, remindAfterMs: Number(row.remind_after_ms), frame: emailFrame(appUrl, environment, { name: row.account_name }) };
}

/** Error rows, with their flows and integrations, of `where` (SQL over errors `e`), as many as an event lists. */
export const errorRows = async (db: Knex, where: string, bindings: Record<string, unknown>) =>
  (await db.raw(`select ${errorRowColumns} from errors e join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id where ${where} order by e.id limit ${eventLines}`, bindings)).rows.map(
    (r: Record<string, unknown>) => ({ ...toErrorRow(r), flowCount: 1 }),
  ) as DigestErrorRow[];
