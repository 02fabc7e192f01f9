/** A connection going offline or back online (S14, S15, S18): emailed to its subscribers, posted to their channels. */
import { createConnectionStore } from '../../stores/connection-store.js';
import { connectionEmailJob } from '../../email/connection-email.js';
import { emailFrame } from '../../email/email-frame.js';
import { kindEmails, notificationKind } from '../kind.js';

/** Its emails, one per person and event. */
export const connectionEmails = kindEmails({
  emails: (db, which) => createConnectionStore(db).pendingEmails(which),
  job: (email, links) => connectionEmailJob(email, links.appUrl, links.installation, links.unsubscribe),
});

export const connection = notificationKind({
  name: 'Connection email',
  email: connectionEmails,
  async event({ db, appUrl }, message) {
    const row = await db('connection_events as ev')
      .join('connections as c', 'c.id', 'ev.connection_id')
      .join('environments as e', 'e.id', db.raw('?', [message.environmentId]))
      .join('accounts as a', 'a.id', 'e.account_id')
      .where('ev.id', message.connectionEventId!)
      .first(
        'ev.status', 'ev.reason', 'ev.changed_at', 'c.id as connection_id', 'c.name as connection_name', 'e.id as environment_id',
        'e.name as environment_name', 'e.production', 'a.id as account_id', 'a.name as account_name',
        db.raw(`(select count(*) from errors x join flow_connections xf on xf.flow_id = x.flow_id
                  where xf.connection_id = c.id and x.environment_id = e.id and x.reported_at >= ev.changed_at)::int as errors_since`),
      );
    const environment = { id: row.environment_id, name: row.environment_name, production: row.production };
    const frame = emailFrame(appUrl, environment, { name: row.account_name });
    const usedBy = (await createConnectionStore(db).usedBy([row.connection_id])).get(row.connection_id) ?? [];
    return {
      type: row.status === 'offline' ? 'herald.connection.offline' : 'herald.connection.online',
      version: 1,
      timestamp: (row.changed_at as Date).toISOString(),
      data: {
        account: { id: row.account_id, name: row.account_name },
        environment,
        connection: { id: row.connection_id, name: row.connection_name },
        status: row.status,
        reason: row.reason,
        usedBy,
        errorsSince: row.status === 'offline' ? row.errors_since : 0,
        url: frame.link(`connections/${encodeURIComponent(row.connection_id)}`),
      },
    };
  },
});
