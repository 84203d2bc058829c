// What every app shares, by purpose: the domain's names (channels, Redis keys); the runtime
// (config, Redis connections, logger, metrics, Lua scripts, errors); the queues (names, job
// schemas and ids, send jobs); the pacing of sends (GCRA schedules); and the stores in Redis
// (subscriptions, prices, pending signups, the delivery log).
export * from './channels.ts';
export * from './keys.ts';
export * from './partitions.ts';

export * from './runtime/config.ts';
export * from './runtime/errors.ts';
export * from './runtime/lease.ts';
export * from './runtime/logger.ts';
export * from './runtime/lua.ts';
export * from './runtime/metrics.ts';
export * from './runtime/redis.ts';

export * from './queues/queues.ts';
export * from './queues/send-jobs.ts';
export * from './queues/ticks.ts';

export * from './pacing/reply-pacer.ts';
export * from './pacing/send-pacer.ts';
export * from './pacing/send-window.ts';
export * from './pacing/feed-floor.ts';
export * from './pacing/fixed-window-counter.ts';
export * from './pacing/confirmation-budget.ts';

export * from './stores/alert-fields.ts';
export * from './stores/alerts.ts';
export * from './stores/deliveries.ts';
export * from './stores/due-index.ts';
export * from './stores/prices.ts';
export * from './stores/provider-status.ts';
export * from './stores/signups.ts';
export * from './stores/subscriptions.ts';
