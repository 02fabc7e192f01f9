/** Errors assigned to someone (S45): to the assignee, by email and to the channel their subscriptions go to. */
import { createAssignmentStore } from '../../stores/assignment-store.js';
import { assignmentEmailJob } from '../../email/assignment-email.js';
import { kindEmails, notificationKind } from '../kind.js';
import { errorLine, errorRows, frameOf } from '../event-parts.js';

/** Its emails, one per person and event. */
export const assignmentEmails = kindEmails({
  emails: (db, which) => createAssignmentStore(db).pendingEmails(which),
  job: (email, links) => assignmentEmailJob(email, links.appUrl, links.installation, links.actions),
});

export const assignment = notificationKind({
  name: 'Errors assigned to you',
  email: assignmentEmails,
  async event({ db, appUrl }, message) {
    const { environment, account, frame } = await frameOf(db, appUrl, message.environmentId);
    const action = await db('assignment_events as a').join('users as u', 'u.id', 'a.assignee_id').where('a.id', message.assignmentEventId!).first('a.error_ids', 'a.assigned_by', 'a.created_at', 'u.email');
    const ids = (action.error_ids as string[]).map(Number);
    return {
      type: 'herald.errors.assigned',
      version: 1,
      timestamp: (action.created_at as Date).toISOString(),
      data: {
        account,
        environment,
        assignee: action.email,
        assignedBy: action.assigned_by,
        count: ids.length,
        errors: (await errorRows(db, 'e.id = any(:ids)', { ids })).map((row) => errorLine(frame, row)),
        url: frame.link('errors?status=open&mine=1'),
      },
    };
  },
});
