/** A person's weekly review (S47): emailed alone, at their time. */
import { createWeeklyReviewStore } from '../../stores/weekly-review-store.js';
import { weeklyReviewEmailJob } from '../../email/weekly-review-email.js';
import { kindEmails, notificationKind } from '../kind.js';

/** Its emails, one per person and event. */
export const weeklyEmails = kindEmails({
  emails: (db, which) => createWeeklyReviewStore(db).pendingEmails(which),
  job: (email, links) => weeklyReviewEmailJob(email, links.appUrl, links.installation, links.unsubscribe),
});

export const weekly = notificationKind({
  name: 'Weekly review',
  email: weeklyEmails,
});
