/*
 * A subscriber's partition: which (channel, partition) of the layout holds all of their state —
 * their record and their entries in the due index — under one hash tag, so that every change to a
 * subscription is one slot on Redis Cluster, and the channel's subscribers spread over its
 * partitions' slots.
 */

/** Partitions per channel. Records and index entries are moved when this changes (see SUBSCRIPTIONS_LAYOUT). */
export const DUE_PARTITIONS = 4;

/**
 * The most partitions a channel's send queue may be split into (SEND_PARTITIONS): each is a queue
 * of its own (its own hash tag on a cluster) with a worker of its own in every dispatcher.
 */
export const SEND_PARTITIONS_MAX = 64;

/**
 * Which of a channel's send queues a subscriber's sends go to: always the same one for the same
 * number of partitions, so that a subscriber's feed send is deduplicated in one queue and their
 * replies stay in order.
 */
export function sendPartition(id: string, partitions: number): number {
  return partitions <= 1 ? 0 : duePartition(`send|${id}`, partitions);
}

/** FNV-1a over the id's UTF-16 code units: stable across processes, cheap, well spread. */
export function duePartition(id: string, partitions = DUE_PARTITIONS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/**
 * What a Redis' subscriptions were laid out as; another value there makes a dispatcher move them
 * at start (apps/dispatcher/src/subscriptions-layout.ts). v1 kept each subscriber's record,
 * symbols and last-sent prices as three keys under one tag for everyone ({subs}); v2 keeps them
 * as one hash under their partition's tag.
 */
export const SUBSCRIPTIONS_LAYOUT = `v2 partitions=${DUE_PARTITIONS}`;
