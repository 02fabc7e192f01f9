import type { Knex } from 'knex';

const cache = new WeakMap<Knex, Promise<string>>();

/** This installation's random id (one per database), read once per pool. */
export function installationId(db: Knex): Promise<string> {
  let id = cache.get(db);
  if (!id) {
    id = db('installation').first('id').then((row) => {
      if (!row) throw new Error('no installation row: apply the migrations (herald db migrate)');
      return row.id as string;
    });
    id.catch(() => cache.delete(db));
    cache.set(db, id);
  }
  return id;
}
