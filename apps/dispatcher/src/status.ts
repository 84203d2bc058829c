import { DEAD_RECIPIENT_CODES } from './send.ts';
import { subscriberId, type DeliveryLog, type Logger, type StatusUpdate, type SubscriptionStore } from '@tickercast/shared';

/**
 * Delivery reports: move the message's state forward, count it, and stop feeding a recipient
 * whom the network reports as barred or opted out — only for a message we sent to that very
 * recipient: a report about any other message id (never sent, expired, or sent to someone else
 * than its `to`) stops nobody, so that a forged or stray report cannot unsubscribe a person.
 */
export function createStatusProcessor(deps: { deliveries: DeliveryLog; store: SubscriptionStore; logger: Logger }) {
  return async (update: StatusUpdate): Promise<boolean> => {
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
