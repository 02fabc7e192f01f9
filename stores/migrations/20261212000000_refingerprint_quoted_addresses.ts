import type { Knex } from 'knex';
import { errorFingerprint } from '../fingerprint.js';

/**
 * Grouped errors (S42): an address with an apostrophe or a backtick in it (o'neil@…) is one
 * address now, and an address in quotes one quoted value; before, the pattern took the address
 * only after the apostrophe, and what was left could open a quoted value that swallowed fixed
 * words. Errors stored with a computed fingerprint and such a message get today's; a flow's own
 * fingerprints, and errors stored before fingerprints, are left as they are. Batches of a
 * thousand, each its own statement: reports carry on meanwhile, and a migration stopped halfway
 * does the rest when run again (the fingerprint it writes is the same).
 */
export const config = { transaction: false };

const batch = 1000;

export async function up(knex: Knex): Promise<void> {
  let after = 0;
  for (;;) {
    const rows: { id: string; message: string; fingerprint: string }[] = await knex('errors')
      .where('id', '>', after)
      .where('fingerprint', 'like', 'auto:%')
      .where('message', 'like', '%@%')
      .whereRaw("(message like '%''%' or message like '%`%')")
      .orderBy('id')
      .limit(batch)
      .select('id', 'message', 'fingerprint');
    if (rows.length === 0) return;
    const changed = rows.map((row) => ({ id: row.id, fingerprint: errorFingerprint(row.message) })).filter((row, i) => row.fingerprint !== rows[i]!.fingerprint);
    if (changed.length > 0) {
      await knex.raw(
        `update errors e set fingerprint = c.fingerprint
           from jsonb_to_recordset(?::jsonb) as c(id bigint, fingerprint text)
          where e.id = c.id`,
        [JSON.stringify(changed)],
      );
    }
    after = Number(rows[rows.length - 1]!.id);
  }
}

/** Nothing to undo: the fingerprints written are what the earlier pattern meant them to be. */
export async function down(): Promise<void> {}
