import { DEAD_RECIPIENT_CODES } from './send.ts';
import { fallbackEndedText } from './texts.ts';
import {
  fallbackEndedJobId,
  parseSubscriberId,
  subscriberId,
  type DeliveryLog,
  type Logger,
  type MetricsRecorder,
  type ReplyPacer,
  type StatusUpdate,
  type SubscriptionStore,
} from '@tickercast/shared';

/**
 * Delivery reports: move the message's state forward, count it, and stop feeding a recipient
 * whom the network reports as barred or opted out — only for a message we sent to that very
 * recipient: a report about any other message id (never sent, expired, or sent to someone else
 * than its `to`) stops nobody, so that a forged or stray report cannot unsubscribe a person.
 *
 * A report of a failover workflow's later leg (the provider sent it itself when the subscriber's
 * own channel could not deliver) is about a message we never saw accepted: it is recorded then,
 * for the subscriber of the workflow's first message, and counted once as a failover. If that leg's
 * number is dead (barred, opted out), it is that subscriber's fallback which is: it is removed, and
 * they are told on their own channel; they are not unsubscribed.
 */
export function createStatusProcessor(deps: {
  deliveries: DeliveryLog;
  store: SubscriptionStore;
  logger: Logger;
  metrics?: Pick<MetricsRecorder, 'inc'>;
  /** Where the notice of a dead fallback goes; without it the fallback is removed silently. */
  replies?: Pick<ReplyPacer, 'add'>;
}) {
  /** A failover leg to a dead number: the owner's fallback goes if it still names that number (a newer one stays). */
  const fallbackDead = async (owner: string, update: StatusUpdate & { workflow: { id: string }; to: string }): Promise<void> => {
    const fallback = { channel: update.channel, address: update.to };
    // Checked and removed in one script: a fallback set meanwhile stays.
    if (!(await deps.store.clearFallback(owner, Date.now(), fallback))) return;
    deps.logger.warn({ channel: update.channel, code: update.error?.code }, 'fallback number is dead: removed from its subscriber');
    await deps.replies?.add(parseSubscriberId(owner).channel, 'fallback-ended', { subscriberId: owner, text: fallbackEndedText(fallback) }, fallbackEndedJobId(update.workflow.id));
  };

  return async (update: StatusUpdate): Promise<boolean> => {
    const dead = update.error?.code !== undefined && DEAD_RECIPIENT_CODES.has(update.error.code);
    // A failover's later leg: the provider sent it itself, to the fallback of the subscriber of its first message.
    const laterLeg = update.workflow && update.workflow.item > 1 ? update.workflow : undefined;
    if (laterLeg) {
      const leg = await deps.deliveries.failoverLeg(laterLeg.id, update.messageId, update.channel);
      if (leg?.isNew) deps.metrics?.inc('tickercast_failovers_total', { from: leg.first.channel, to: update.channel });
      if (leg && dead && update.to) await fallbackDead(leg.first.subscriberId, { ...update, workflow: laterLeg, to: update.to });
    }
    const applied = await deps.deliveries.applyStatus(update);
    if (update.error) {
      deps.logger.info({ channel: update.channel, status: update.status, error: update.error }, 'delivery failed');
      // A later leg's number is the fallback's, handled above: its owner is someone else.
      if (update.to && dead && !laterLeg) {
        const recipient = subscriberId(update.channel, update.to);
        if ((await deps.deliveries.recipientOf(update.messageId)) === recipient) await deps.store.stop(recipient);
        else deps.logger.warn({ channel: update.channel, code: update.error.code }, 'a dead-recipient report for a message we did not send to that address: ignored');
      }
    }
    return applied;
  };
}
