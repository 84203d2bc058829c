import { DEAD_RECIPIENT_CODES } from './send.ts';
import { subscriberId, type DeliveryLog, type Logger, type StatusUpdate, type SubscriptionStore } from '@tickercast/shared';

/**
 * Delivery reports: move the message's state forward, count it, and stop feeding a recipient
 * whom the network reports as barred or opted out.
 */
export function createStatusProcessor(deps: { deliveries: DeliveryLog; store: SubscriptionStore; logger: Logger }) {
  return async (update: StatusUpdate): Promise<boolean> => {
    const applied = await deps.deliveries.applyStatus(update);
    if (update.error) {
      deps.logger.info({ channel: update.channel, status: update.status, error: update.error }, 'delivery failed');
      if (update.to && update.error.code && DEAD_RECIPIENT_CODES.has(update.error.code)) {
        await deps.store.stop(subscriberId(update.channel, update.to));
      }
    }
    return applied;
  };
}
