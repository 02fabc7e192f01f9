/** The digest email of one user for one cycle: subject, summary, and details grouped by flow (S8, S13, S19, S20). */
import type { CycleContext, DigestErrorRow, PendingDelivery } from '../db/digest-store.js';
import { emailText, emailTextLimits as limits } from './text.js';

/** Detail rows per email, per list (new, resolved); counts stay exact beyond them (S20). */
export const digestDetailLimit = 50;

export interface DigestEmail {
  subject: string;
  model: object;
}

export function digestSubject(context: CycleContext, delivery: Pick<PendingDelivery, 'newCount' | 'resolvedCount'>): string {
  const parts = [];
  if (delivery.newCount > 0) parts.push(`${delivery.newCount} new error${delivery.newCount === 1 ? '' : 's'}`);
  if (delivery.resolvedCount > 0) parts.push(`${delivery.resolvedCount} resolved`);
  const environment = context.environment.production ? '' : `[${emailText(context.environment.name, limits.name)}] `;
  return `${environment}${parts.join(', ')} in ${emailText(context.account.name, limits.name)} flows`;
}

export function digestEmail(
  context: CycleContext,
  delivery: PendingDelivery,
  newRows: DigestErrorRow[],
  resolvedRows: DigestErrorRow[],
  appUrl: string,
): DigestEmail {
  const base = appUrl.replace(/\/+$/, '');
  const env = encodeURIComponent(context.environment.id);
  const flowUrl = (flowId: string) => `${base}/environments/${env}/flows/${encodeURIComponent(flowId)}/errors`;
  const errorUrl = (id: number) => `${base}/environments/${env}/errors/${id}`;
  const subject = digestSubject(context, delivery);

  const group = (rows: DigestErrorRow[], resolved: boolean) => {
    const groups: { flow: string; integration: string; url: string; count: number; errors: object[] }[] = [];
    for (const row of rows) {
      let current = groups.at(-1);
      if (!current || current.url !== flowUrl(row.flowId)) {
        current = {
          flow: emailText(row.flowName, limits.name),
          integration: emailText(row.integrationName, limits.name),
          url: flowUrl(row.flowId),
          count: row.flowCount,
          errors: [],
        };
        groups.push(current);
      }
      current.errors.push({
        message: emailText(row.message, limits.message),
        code: row.code ? emailText(row.code, limits.code) : '',
        step: row.step ? emailText(row.step, limits.step) : '',
        traceKey: emailText(row.traceKey, limits.traceKey),
        time: formatTime(resolved ? (row.resolvedAt ?? row.occurredAt) : row.occurredAt),
        url: errorUrl(row.id),
        resolution: resolved ? resolution(row) : '',
      });
    }
    return groups;
  };

  return {
    subject,
    model: {
      subject,
      account: { name: emailText(context.account.name, limits.name) },
      environment: {
        name: emailText(context.environment.name, limits.name),
        nonProduction: !context.environment.production,
      },
      summary: { newCount: delivery.newCount, resolvedCount: delivery.resolvedCount, openCount: delivery.openCount },
      newGroups: group(newRows, false),
      newMore: delivery.newCount - newRows.length,
      resolvedGroups: group(resolvedRows, true),
      resolvedMore: delivery.resolvedCount - resolvedRows.length,
      links: {
        openErrors: `${base}/environments/${env}/errors?status=open`,
        settings: `${base}/environments/${env}/notifications`,
      },
    },
  };
}

function resolution(row: DigestErrorRow): string {
  if (row.resolvedBy) return `resolved by ${emailText(row.resolvedBy, limits.name)}`;
  return `auto-resolved: ${row.resolutionReason ?? 'resolved'}`;
}

function formatTime(time: Date): string {
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
