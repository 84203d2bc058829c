import { z } from 'zod';

/** The Messages API v1 channels the feed speaks on, named as the API names them. */
export const CHANNELS = ['sms', 'whatsapp', 'messenger', 'viber_service'] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

/** A subscriber is one address on one channel: the same phone on SMS and WhatsApp is two subscribers. */
export type SubscriberId = `${Channel}:${string}`;

export function subscriberId(channel: Channel, address: string): SubscriberId {
  return `${channel}:${address}`;
}

export function parseSubscriberId(id: string): { channel: Channel; address: string } {
  const at = id.indexOf(':');
  const channel = channelSchema.parse(id.slice(0, at));
  return { channel, address: id.slice(at + 1) };
}
