/** The weekly review of an environment (S47), to one person: the 7 days before the day it comes. */
import { DateTime } from 'luxon';
import type { WeeklyReviewEmailContext } from '../stores/weekly-review-store.js';
import type { ResolveTime } from '../stores/trend-store.js';
import { renderEmail } from './render.js';
import { messageText, messageTextLimits } from '../contracts/message-text.js';
import { emailFrame, emailTime, heraldMessageId } from './email-frame.js';
import type { DeliveryJob } from './email-job.js';
import { unsubscribePlaceholder, withUnsubscribe, type UnsubscribeLinks } from './unsubscribe.js';
import { weekBars } from './trend-bars.js';
import { durationWords } from '../contracts/duration.js';
import { weekChange } from '../contracts/trend-words.js';

/** "1 error", "3 errors". */
const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** How long resolved errors took, in a sentence's words: "half within an hour, 9 in 10 within a day (of 12)". */
const resolveWords = (time: ResolveTime) => `half ${time.median}, 9 in 10 ${time.p90} (of ${time.resolved} resolved)`;

/** How often a connection went offline, in words. */
const times = (n: number) => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);

export function weeklyReviewEmailJob(email: WeeklyReviewEmailContext, appUrl: string, installation: string, unsubscribe: UnsubscribeLinks): DeliveryJob {
  return {
    kind: 'weekly',
    deliveryId: email.deliveryId,
    recipient: email.recipient,
    messageId: heraldMessageId('weekly', email.publicId, email.deliveryId, email.userId, installation),
    wanted: email.wanted,
    async compose() {
      const frame = emailFrame(appUrl, email.environment, email.account);
      const f = email.figures;
      const day = (at: Date) => DateTime.fromJSDate(at, { zone: f.timeZone });
      const week = `${day(f.from).toFormat('ccc d LLL')} – ${day(f.to).minus({ days: 1 }).toFormat('ccc d LLL')}`;
      const subject = `${frame.subjectPrefix}Your week in ${frame.account.name} flows: ${count(f.reported, 'new error')}, ${f.resolved} resolved`;
      const overview = (flow?: string) => frame.link(flow ? `overview?flow=${encodeURIComponent(flow)}` : 'overview');
      const bars = weekBars(f.days, f.timeZone);
      const rendered = await renderEmail('weekly-review', {
        subject,
        week,
        timeZone: f.timeZone,
        headline:
          `${count(f.reported, 'new error')} and ${f.resolved} resolved (the week before: ${f.reportedWeekBefore} new, ${f.resolvedWeekBefore} resolved); ` +
          `${f.openAtEnd} open at the end of the week.`,
        bars,
        anyRisen: f.risenFlows.length + f.risenGroups.length > 0,
        risenFlows: f.risenFlows.map((flow) => ({
          name: messageText(flow.flowName, messageTextLimits.name),
          words: `${count(flow.thisWeek, 'error')}, ${flow.lastWeek} the week before (${weekChange(flow.thisWeek, flow.lastWeek)})`,
          url: overview(flow.flowId),
        })),
        risenGroups: f.risenGroups.map((group) => ({
          label: messageText(group.label, messageTextLimits.message),
          // A real message beside a pattern (S48); none where the pattern is the message.
          example: group.example === group.label ? '' : messageText(group.example, messageTextLimits.message),
          flowName: messageText(group.flowName, messageTextLimits.name),
          words: `${count(group.thisWeek, 'error')}, ${group.lastWeek} the week before (${weekChange(group.thisWeek, group.lastWeek)})`,
          url: frame.link(`errors?flow=${encodeURIComponent(group.flowId)}&group=${encodeURIComponent(group.groupKey)}`),
        })),
        resolveTime: f.resolveTime.thisWeek
          ? `Resolved this week: ${resolveWords(f.resolveTime.thisWeek)}; the week before: ${f.resolveTime.lastWeek ? resolveWords(f.resolveTime.lastWeek) : 'none resolved'}.`
          : `None resolved this week; the week before: ${f.resolveTime.lastWeek ? resolveWords(f.resolveTime.lastWeek) : 'none either'}.`,
        downtime: f.downtime.map((c) => ({
          name: messageText(c.connectionName, messageTextLimits.name),
          words: `offline ${times(c.outages)}, ${durationWords(c.downSeconds)} in all${c.down ? ', and still offline at the end of the week' : ''}`,
          url: frame.link(`connections/${encodeURIComponent(c.connectionId)}`),
        })),
        oldOpen: {
          count: f.oldOpen.count,
          words: f.oldOpen.count === 1 ? '1 error has been open for more than a week:' : `${f.oldOpen.count} errors have been open for more than a week, the oldest first:`,
          errors: f.oldOpen.oldest.map((error) => ({ ...frame.error(error), reported: emailTime(error.reportedAt) })),
          more: Math.max(0, f.oldOpen.count - f.oldOpen.oldest.length),
        },
        account: frame.account,
        environment: frame.environment,
        links: { overview: overview(), openErrors: frame.link('errors?status=open'), settings: frame.link('notifications'), unsubscribe: unsubscribePlaceholder },
        unsubscribeWhat: `weekly reviews of ${frame.environment.name}`,
        because: `You receive this weekly review of ${frame.account.name} in the ${frame.environment.name} environment because it is on in your notification settings (owners and admins get it unless they turn it off).`,
      });
      return withUnsubscribe({ subject, ...rendered }, unsubscribe, { userId: email.userId, environment: email.environment.id, scope: { kind: 'weekly' } });
    },
  };
}
