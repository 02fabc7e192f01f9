/**
 * The digest (S7–S10): a cycle's news for each person, composed a cycle at a time
 * (email/digest-composer.ts), and for each channel the event of its news (S43, S49's rhythms).
 */
import { channelResolvedSql, digestMessageFlows } from '../../stores/channel-store.js';
import { createDigestStore, errorRowColumns, toErrorRow } from '../../stores/digest-store.js';
import { emailFrame } from '../../email/email-frame.js';
import { eventFlows, eventLines } from '../../channels/events.js';
import { notificationKind } from '../kind.js';
import { errorLine } from '../event-parts.js';

export const digest = notificationKind({
  name: 'Digest',
  async event({ db, appUrl }, message) {
    const digests = createDigestStore(db);
    const cycleId = message.cycleId!;
    const context = await digests.cycleContext(cycleId);
    const frame = emailFrame(appUrl, context.environment, context.account);
    const byFlow = await digests.newErrorsByFlow(cycleId, message.flowIds, eventLines, message.sinceCycleId);
    const resolved = await db.raw(
      `select ${errorRowColumns} from errors e join flows f on f.id = e.flow_id join integrations i on i.id = f.integration_id,
              (select channel_id, flow_ids, cycle_id, since_cycle_id from notifications where id = :id) cm
        where ${channelResolvedSql} order by f.name, e.flow_id, e.resolved_at, e.id limit :limit`,
      { id: message.id, limit: eventLines },
    );
    const fixedAt = (await db('digest_cycles').where({ id: cycleId }).first('fixed_at')).fixed_at as Date;
    return {
      type: 'herald.digest',
      version: 1,
      timestamp: fixedAt.toISOString(),
      data: {
        account: { id: context.account.id, name: context.account.name },
        environment: context.environment,
        cycle: context.number,
        newErrors: message.newCount,
        resolvedErrors: message.resolvedCount,
        openErrors: message.openCount,
        firstNew: [...byFlow.values()].flat().slice(0, eventLines).map((row) => errorLine(frame, row)),
        firstResolved: resolved.rows.map((r: Record<string, unknown>) => errorLine(frame, { ...toErrorRow(r), flowCount: 1 })),
        flows: (await digestMessageFlows(db, message.id, context.environment.id, eventFlows)).map((flow) => ({
          ...flow,
          url: frame.link(`errors?status=open&flow=${encodeURIComponent(flow.id)}`),
        })),
        url: frame.link('errors?status=open'),
      },
    };
  },
});
