/** A reminder of errors open longer than the environment's threshold (S31): to each person once a day, and to each channel. */
import { createReminderStore } from '../../stores/reminder-store.js';
import { reminderEmailJob } from '../../email/reminder-email.js';
import { kindEmails, notificationKind } from '../kind.js';
import { errorLine, errorRows, frameOf } from '../event-parts.js';

/** Its emails, one per person and event. */
export const reminderEmails = kindEmails({
  emails: (db, which) => createReminderStore(db).pendingEmails(which),
  job: (email, links) => reminderEmailJob(email, links.appUrl, links.installation, links.unsubscribe, links.actions),
});

export const reminder = notificationKind({
  name: 'Reminder of errors still open',
  email: reminderEmails,
  async event({ db, appUrl }, message) {
    const { environment, account, remindAfterMs, frame } = await frameOf(db, appUrl, message.environmentId);
    const at = message.plannedAt!;
    const stale = `e.environment_id = :environment and e.status = 'open' and e.flow_id = any(:flows) and e.reported_at < :at::timestamptz - :ms * interval '1 millisecond'`;
    const bindings = { environment: environment.id, flows: message.flowIds, at: at.toISOString(), ms: remindAfterMs };
    return {
      type: 'herald.errors.reminder',
      version: 1,
      timestamp: at.toISOString(),
      data: {
        account,
        environment,
        openLongerThanMs: remindAfterMs,
        count: message.openCount,
        first: (await errorRows(db, stale, bindings)).map((row) => errorLine(frame, row)),
        url: frame.link('errors?status=open'),
      },
    };
  },
});
