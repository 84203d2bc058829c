import { randomUUID } from 'node:crypto';
import type { Channel } from '@tickercast/shared';

export interface InboundOptions {
  channel: Channel;
  /** The phone's number (or Messenger PSID). */
  from: string;
  /** The business's number / page id / service id. */
  to: string;
  text: string;
}

/** The Messages API v1 inbound-message webhook body a phone's message produces. */
export function inboundWebhookBody(opts: InboundOptions, now = new Date()): Record<string, unknown> {
  const base = {
    channel: opts.channel,
    message_uuid: randomUUID(),
    to: opts.to,
    from: opts.from,
    timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    message_type: 'text',
    text: opts.text,
  };
  switch (opts.channel) {
    case 'sms':
      return {
        ...base,
        sms: { num_messages: String(Math.max(1, Math.ceil(opts.text.length / 160))), keyword: opts.text.trim().split(/\s+/)[0]?.toUpperCase() ?? '' },
      };
    case 'whatsapp':
      // context_status is required by Vonage's schema; a phone's own message quotes nothing.
      return { ...base, context_status: 'none', profile: { name: `Phone ${opts.from.slice(-4)}` } };
    default:
      return base;
  }
}
