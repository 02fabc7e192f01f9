/**
 * Composing digest emails: the email of one delivery, from the cycle's rows. Used by the send
 * activity and by `herald digest preview`.
 */
import type { CycleContext, DigestErrorRow, DigestStore, FoldedErrors, PendingDelivery } from '../stores/digest-store.js';
import { digestDetailLimit, digestEmail, type OfflineLine } from './digest-email.js';
import { renderEmail, type RenderedEmail } from './render.js';
import { EmailCompositionError, type DeliveryJob } from './email-job.js';
import { withUnsubscribe, type UnsubscribeLinks } from './unsubscribe.js';
import type { EmailActionLinks } from './email-actions.js';
import { emailFrame, heraldMessageId } from './email-frame.js';

export interface ComposedDigest {
  subject: string;
  rendered: RenderedEmail;
}

/** A digest's bars span the day to its cycle and the day before, to compare (S47). */
const trendHours = 48;
/** The bars end at the hour the cycle was fixed in, whenever the email is sent or drawn again. */
const trendEnd = (context: CycleContext) => context.fixedAt ?? new Date();

/** The Message-ID of a user's digest of a cycle: the same for every attempt, so a receiver can spot a resend. */
export function digestMessageId(delivery: Pick<PendingDelivery, 'publicId' | 'cycleId' | 'userId'>, installation: string): string {
  return heraldMessageId('digest', delivery.publicId, delivery.cycleId, delivery.userId, installation);
}

/**
 * Composes the digests of one cycle. Each flow's first new errors are loaded once for all the
 * deliveries that need them; users who follow the same flows and have nothing resolved get the
 * same email, rendered once.
 */
export function digestComposer(store: DigestStore, context: CycleContext, appUrl: string, installation: string, unsubscribe: UnsubscribeLinks, actions: EmailActionLinks) {
  const newByFlow = new Map<string, DigestErrorRow[]>();
  const trendByFlow = new Map<string, number[]>();
  const sharedRenders = new Map<string, Promise<ComposedDigest>>();
  let folded: Promise<Map<string, FoldedErrors>> | undefined;
  const compose = async (delivery: PendingDelivery) => {
    // A person's own range of cycles (S41) is theirs alone: read and rendered for them.
    if (delivery.sinceCycleId !== null) {
      const [newOfRange, foldedOfRange] = await Promise.all([
        store.newErrorsByFlow(context.cycleId, delivery.flowIds, digestDetailLimit, delivery.sinceCycleId),
        store.foldedByFlow(context.cycleId, delivery.sinceCycleId),
      ]);
      return composeDigest(store, context, delivery, newOfRange, foldedOfRange, appUrl, trendByFlow);
    }
    folded ??= store.foldedByFlow(context.cycleId);
    const foldedByFlow = await folded;
    if (delivery.resolvedCount > 0) return composeDigest(store, context, delivery, newByFlow, foldedByFlow, appUrl, trendByFlow);
    const key = `${delivery.openCount}|${delivery.snoozedCount}|${delivery.canAct === true}|${delivery.flowIds.join(',')}`;
    let shared = sharedRenders.get(key);
    if (!shared) {
      shared = composeDigest(store, context, delivery, newByFlow, foldedByFlow, appUrl, trendByFlow);
      sharedRenders.set(key, shared);
      // A failed render is not shared: the next user of these flows tries again.
      shared.catch(() => sharedRenders.delete(key));
    }
    return shared;
  };
  return {
    /** Loads the new errors of the flows these deliveries need that are not loaded yet. */
    async prepare(deliveries: PendingDelivery[]): Promise<void> {
      const untrended = [...new Set(deliveries.flatMap((d) => d.flowIds))].filter((id) => !trendByFlow.has(id));
      if (untrended.length > 0) {
        for (const [id, hourly] of await store.reportedByHour(context.environment.id, untrended, trendEnd(context), trendHours)) trendByFlow.set(id, hourly);
      }
      const ofThisCycle = deliveries.filter((d) => d.sinceCycleId === null);
      const missing = [...new Set(ofThisCycle.flatMap((d) => d.flowIds))].filter((id) => !newByFlow.has(id));
      if (missing.length === 0) return;
      const loaded = await store.newErrorsByFlow(context.cycleId, missing, digestDetailLimit);
      for (const id of missing) newByFlow.set(id, loaded.get(id) ?? []);
    },
    job(delivery: PendingDelivery): DeliveryJob {
      return {
        kind: 'digest',
        deliveryId: delivery.id,
        recipient: delivery.recipient,
        messageId: digestMessageId(delivery, installation),
        wanted: delivery.wanted,
        compose: async () => {
          // The rendering may be shared by users of the same flows: each gets their own unsubscribe and action links here.
          const { subject, rendered } = await compose(delivery);
          return recipientsOwn({ subject, ...rendered }, { unsubscribe, actions }, context, delivery, appUrl);
        },
      };
    },
  };
}

/** A digest rendered for any of its recipients, made this recipient's: their unsubscribe link, their actions' links (S25, S45). */
export function recipientsOwn<T extends { html: string; text: string; headers?: Record<string, string> }>(
  email: T,
  links: { unsubscribe: UnsubscribeLinks; actions: EmailActionLinks },
  context: CycleContext,
  delivery: Pick<PendingDelivery, 'userId' | 'publicId'>,
  appUrl: string,
): T {
  const withLink = withUnsubscribe(email, links.unsubscribe, { userId: delivery.userId, environment: context.environment.id, scope: { kind: 'errors' } });
  const openErrors = emailFrame(appUrl, context.environment, context.account).link('errors?status=open&mine=1');
  return links.actions.own(withLink, { userId: delivery.userId, emailId: delivery.publicId }, openErrors);
}

/**
 * One delivery's digest email, rendered. `newByFlow` holds the first new errors of (at least)
 * the delivery's flows; its resolved errors are read here, as they depend on the user (S9).
 */
export async function composeDigest(
  store: DigestStore,
  context: CycleContext,
  delivery: PendingDelivery,
  newByFlow: Map<string, DigestErrorRow[]>,
  folded: Map<string, FoldedErrors>,
  appUrl: string,
  /** The flows' errors per hour up to the cycle (S47), where the caller read them for many deliveries; else read here. */
  trends?: Map<string, number[]>,
): Promise<ComposedDigest> {
  const newRows = firstRows(delivery.flowIds, newByFlow, digestDetailLimit);
  const resolvedRows =
    delivery.resolvedCount > 0 ? await store.resolvedErrors(context.cycleId, delivery.userId, delivery.flowIds, digestDetailLimit, delivery.sinceCycleId) : [];
  const hourly = trends ?? (await store.reportedByHour(context.environment.id, [...new Set(newRows.map((row) => row.flowId))], trendEnd(context), trendHours));
  const email = digestEmail(context, delivery, newRows, resolvedRows, appUrl, offlineLines(delivery.flowIds, folded), delivery.canAct === true, hourly);
  try {
    return { subject: email.subject, rendered: await renderEmail('digest', email.model) };
  } catch (error) {
    throw new EmailCompositionError(`the digest template failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The offline connections of a user's flows, one line each, with exact counts (S30). */
export function offlineLines(flowIds: string[], folded: Map<string, FoldedErrors>): OfflineLine[] {
  const lines = new Map<string, OfflineLine>();
  for (const flowId of flowIds) {
    const ofFlow = folded.get(flowId);
    ofFlow?.byConnection.forEach((connection, index) => {
      const line = lines.get(connection.id) ?? { connection: { id: connection.id, name: connection.name }, errors: 0, flows: 0, since: connection.since, foldedInFlows: 0 };
      line.errors += connection.errors;
      line.flows += 1;
      if (connection.since < line.since) line.since = connection.since;
      // The flow's folded errors count once towards the email's total, under its first line.
      if (index === 0) line.foldedInFlows += ofFlow.errors;
      lines.set(connection.id, line);
    });
  }
  return [...lines.values()].sort((a, b) => a.connection.name.localeCompare(b.connection.name));
}

/** A user's first `limit` new errors: its flows' lists, in digest order (flow name, then time). */
function firstRows(flowIds: string[], byFlow: Map<string, DigestErrorRow[]>, limit: number): DigestErrorRow[] {
  const lists = flowIds.map((id) => byFlow.get(id) ?? []).filter((list) => list.length > 0);
  lists.sort((a, b) => a[0]!.flowName.localeCompare(b[0]!.flowName) || a[0]!.flowId.localeCompare(b[0]!.flowId));
  return lists.flat().slice(0, limit);
}
