import { DEAD_RECIPIENT_CODES } from './send.ts';
import { subscriberId, type DeliveryLog, type Logger, type MetricsRecorder, type StatusUpdate, type SubscriptionStore } from '@tickercast/shared';

/**
 * Delivery reports: move the message's state forward, count it, and stop feeding a recipient
 * whom the network reports as barred or opted out — only for a message we sent to that very
 * recipient: a report about any other message id (never sent, expired, or sent to someone else
 * than its `to`) stops nobody, so that a forged or stray report cannot unsubscribe a person.
 *
 * A report of a failover workflow's later leg (the provider sent it itself when the subscriber's
 * own channel could not deliver) is about a message we never saw accepted: it is recorded then,
 * for the subscriber of the workflow's first message, and counted once as a failover.
 */
export function createStatusProcessor(deps: { deliveries: DeliveryLog; store: SubscriptionStore; logger: Logger; metrics?: Pick<MetricsRecorder, 'inc'> }) {
  return async (update: StatusUpdate): Promise<boolean> => {
    if (update.workflow && update.workflow.item > 1) {
      const leg = await deps.deliveries.failoverLeg(update.workflow.id, update.messageId, update.channel);
      if (leg?.isNew) deps.metrics?.inc('tickercast_failovers_total', { from: leg.first.channel, to: update.channel });
    }
    const applied = await deps.deliveries.applyStatus(update);
    if (update.error) {
      deps.logger.info({ channel: update.channel, status: update.status, error: update.error }, 'delivery failed');
      if (update.to && update.error.code && DEAD_RECIPIENT_CODES.has(update.error.code)) {
        const recipient = subscriberId(update.channel, update.to);
        if ((await deps.deliveries.recipientOf(update.messageId)) === recipient) await deps.store.stop(recipient);
        else deps.logger.warn({ channel: update.channel, code: update.error.code }, 'a dead-recipient report for a message we did not send to that address: ignored');
      }
    }
    return applied;
  };
}
