/** The digest email of one user for one cycle: subject, summary, and details grouped by flow (S8, S13, S19, S20). */
import type { CycleContext, DigestErrorRow, PendingDelivery } from '../stores/digest-store.js';
import { messageText, messageTextLimits as limits } from '../contracts/message-text.js';
import { groupLabel } from '../stores/fingerprint.js';
import { rowActions } from './email-actions.js';
import { emailFrame, emailTime } from './email-frame.js';
import { unsubscribePlaceholder } from './unsubscribe.js';
import { actionSourceWords } from '../contracts/email-action.js';
import { flowTrendBars, type FlowTrendBars } from './trend-bars.js';

/** Detail rows per email, per list (new, resolved); counts stay exact beyond them (S20). */
export const digestDetailLimit = 50;

export interface DigestEmail {
  subject: string;
  model: object;
}


/** One offline connection's line: the errors of its flows reported while it was offline (S30). */
export interface OfflineLine {
  connection: { id: string; name: string };
  errors: number;
  flows: number;
  since: Date;
  /** Folded errors counted under this line and no earlier one (an error may fold under two connections). */
  foldedInFlows: number;
}

export function digestEmail(
  context: CycleContext,
  delivery: Pick<PendingDelivery, 'newCount' | 'resolvedCount' | 'openCount'> & { snoozedCount?: number; rhythm?: string | null },
  newRows: DigestErrorRow[],
  resolvedRows: DigestErrorRow[],
  appUrl: string,
  /** The delivery's new errors folded into one line per offline connection (S30). */
  offline: OfflineLine[] = [],
  /** Whether the recipient may act on errors: their rows carry resolve, snooze and assign links (S45). */
  canAct = false,
  /** Errors reported per hour in each flow, the 48 hours to the cycle (S47): the bars of each flow with news. */
  trends: Map<string, number[]> = new Map(),
): DigestEmail {
  const frame = emailFrame(appUrl, context.environment, context.account);
  const flowUrl = (flowId: string) => frame.link(`flows/${encodeURIComponent(flowId)}/errors`);
  const errorUrl = (id: number) => frame.link(`errors/${id}`);
  const groupUrl = (flowId: string, fingerprint: string) => frame.link(`errors?${new URLSearchParams({ flow: flowId, group: fingerprint })}`);
  const counts = [];
  if (delivery.newCount > 0) counts.push(`${delivery.newCount} new error${delivery.newCount === 1 ? '' : 's'}`);
  if (delivery.resolvedCount > 0) counts.push(`${delivery.resolvedCount} resolved`);
  const subject = `${frame.subjectPrefix}${counts.join(', ')} in ${frame.account.name} flows`;

  const group = (rows: DigestErrorRow[], resolved: boolean) => {
    const groups: { flow: string; integration: string; url: string; count: number; trend?: FlowTrendBars & { url: string }; errors: object[] }[] = [];
    for (const row of rows) {
      let current = groups.at(-1);
      if (!current || current.url !== flowUrl(row.flowId)) {
        const hourly = resolved ? undefined : trends.get(row.flowId);
        current = {
          flow: messageText(row.flowName, limits.name),
          integration: messageText(row.integrationName, limits.name),
          url: flowUrl(row.flowId),
          count: row.flowCount,
          // Its bars lead to the flow's overview, where the trend goes on (S47).
          ...(hourly && { trend: { ...flowTrendBars(hourly), url: frame.link(`overview?flow=${encodeURIComponent(row.flowId)}`) } }),
          errors: [],
        };
        groups.push(current);
      }
      const grouped = row.group;
      current.errors.push({
        ...(grouped && {
          group: {
            size: grouped.size,
            pattern: messageText(groupLabel(row.message, grouped.fingerprint), limits.message),
            // The pattern alone does not say what failed: the group's latest message does.
            latest: messageText(grouped.latestMessage, limits.message),
            firstSeen: emailTime(grouped.firstSeen),
            lastSeen: emailTime(grouped.lastSeen),
            examples: grouped.examples.map((key) => messageText(key, limits.traceKey)),
            more: grouped.size > grouped.examples.length,
            url: grouped.fingerprint ? groupUrl(row.flowId, grouped.fingerprint) : flowUrl(row.flowId),
          },
        }),
        // What is new can be acted on from the email; what is resolved is done.
        actions: resolved ? [] : rowActions(canAct, grouped ? 'group' : 'error', row.id),
        message: messageText(row.message, limits.message),
        code: row.code ? messageText(row.code, limits.code) : '',
        step: row.step ? messageText(row.step, limits.step) : '',
        traceKey: messageText(row.traceKey, limits.traceKey),
        time: emailTime(resolved ? (row.resolvedAt ?? row.occurredAt) : row.occurredAt),
        url: errorUrl(row.id),
        resolution: resolved ? resolution(row) : '',
        assignee: row.assignee ? messageText(row.assignee, limits.name) : '',
      });
    }
    return groups;
  };

  return {
    subject,
    model: {
      subject,
      account: frame.account,
      environment: frame.environment,
      summary: { newCount: delivery.newCount, resolvedCount: delivery.resolvedCount, openCount: delivery.openCount, snoozedCount: delivery.snoozedCount ?? 0 },
      // A person with a rhythm of their own (S41) reads what came since their last digest.
      rhythm: delivery.rhythm ? messageText(delivery.rhythm, limits.message) : '',
      newGroups: group(newRows, false),
      // Each line stands for its group's errors (S42).
      newMore: delivery.newCount - newRows.reduce((sum, row) => sum + (row.group?.size ?? 1), 0) - offline.reduce((sum, line) => sum + line.foldedInFlows, 0),
      offline: offline.map((line) => ({
        id: line.connection.id,
        connection: messageText(line.connection.name, limits.name),
        errors: line.errors,
        oneError: line.errors === 1,
        flows: line.flows,
        oneFlow: line.flows === 1,
        since: emailTime(line.since),
        url: frame.link(`connections/${encodeURIComponent(line.connection.id)}`),
      })),
      resolvedGroups: group(resolvedRows, true),
      resolvedMore: delivery.resolvedCount - resolvedRows.length,
      links: {
        openErrors: frame.link('errors?status=open&mine=1'),
        settings: frame.link('notifications'),
        unsubscribe: unsubscribePlaceholder,
      },
      unsubscribeWhat: `error emails of ${frame.environment.name}`,
    },
  };
}

function resolution(row: DigestErrorRow): string {
  if (row.resolvedBy) return `resolved by ${messageText(row.resolvedBy, limits.name)}${row.resolvedVia ? ` ${actionSourceWords(row.resolvedVia)}` : ''}`;
  return `auto-resolved: ${row.resolutionReason ?? 'resolved'}`;
}
