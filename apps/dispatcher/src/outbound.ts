import { MESSAGES_API_CHANNELS, type OutboundMessage } from '@tickercast/messages-client';
import type { Channel, Config } from '@tickercast/shared';

/** What the configuration decides about outbound messages (the rules themselves are the channel tables'). */
export interface OutboundSettings {
  whatsappTemplate: { name: string; locale: string };
  /** The template of a web signup's confirmation (WHATSAPP_OPTIN_TEMPLATE_NAME), in the same locale. */
  whatsappOptInTemplate: string;
  /** The Messenger tag allowed outside the window; without one nothing is sent there. */
  messengerTag: string | undefined;
  viberTtlS: number;
  /** How long price updates may wait at the provider (priceTtlS). */
  priceTtl: { maxS: number; tickMs: number };
}

/** The outbound settings of a configuration. */
export function outboundSettings(config: Config): OutboundSettings {
  return {
    whatsappTemplate: { name: config.WHATSAPP_TEMPLATE_NAME, locale: config.WHATSAPP_TEMPLATE_LOCALE },
    whatsappOptInTemplate: config.WHATSAPP_OPTIN_TEMPLATE_NAME,
    messengerTag: config.MESSENGER_TAG,
    viberTtlS: config.VIBER_TTL_S,
    priceTtl: { maxS: config.PRICE_TTL_S, tickMs: config.TICK_INTERVAL_MS },
  };
}

/** A price update without an EVERY interval may wait this many ticks: by then newer prices are on their way. */
export const PRICE_TTL_TICKS = 3;

/**
 * The ttl of a price update, in seconds: the subscriber's EVERY interval, else a few ticks (a later
 * update carries a fresher price anyway), at most PRICE_TTL_S, and within the channel's own range.
 * Undefined on a channel that takes no ttl (WhatsApp, Messenger).
 */
export function priceTtlS(channel: Channel, intervalMs: number | undefined, settings: Pick<OutboundSettings, 'priceTtl'>): number | undefined {
  const range = MESSAGES_API_CHANNELS[channel].ttlS;
  if (!range) return undefined;
  const wanted = Math.ceil((intervalMs ?? PRICE_TTL_TICKS * settings.priceTtl.tickMs) / 1000);
  return Math.min(range.max, Math.max(range.min, Math.min(wanted, settings.priceTtl.maxS)));
}

export interface OutboundInput {
  channel: Channel;
  to: string;
  from: string;
  text: string;
  clientRef: string;
  /** When the person last wrote to us, if ever. */
  lastInboundAt: number | undefined;
  now: number;
  /** A web signup's request for a YES: outside the WhatsApp window, the opt-in template. */
  optIn?: boolean | undefined;
  /** A price update's ttl (priceTtlS); replies have none of their own (SMS: the provider's default, Viber: VIBER_TTL_S). */
  ttlS?: number | undefined;
}

/** The one reason a channel's rules send nothing. */
export type OutboundSkip = 'outside the Messenger window and no MESSENGER_TAG configured';

export type OutboundDecision = { send: OutboundMessage } | { skip: OutboundSkip };

/**
 * The message a text becomes on each channel, following that channel's rules: inside the window
 * (MESSAGES_API_CHANNELS) free text, outside it what CHANNEL_RULES' outsideWindow says; the message
 * shapes differ per channel, so this stays one switch rather than data.
 */
export function outboundFor(input: OutboundInput, settings: OutboundSettings): OutboundDecision {
  const { channel, to, from, text, clientRef } = input;
  const windowMs = MESSAGES_API_CHANNELS[channel].customerCareWindowMs;
  const windowOpen = windowMs !== undefined && input.lastInboundAt !== undefined && input.now - input.lastInboundAt < windowMs;
  switch (channel) {
    case 'sms':
      return { send: { channel, to, from, text, clientRef, ...(input.ttlS !== undefined && { ttl: input.ttlS }) } };
    case 'whatsapp':
      if (windowOpen) return { send: { channel, to, from, text, clientRef } };
      // Outside the window only an approved template may be sent; the text is its one parameter.
      return {
        send: {
          channel,
          to,
          from,
          clientRef,
          template: { name: input.optIn ? settings.whatsappOptInTemplate : settings.whatsappTemplate.name, locale: settings.whatsappTemplate.locale, parameters: [text] },
        },
      };
    case 'messenger':
      if (windowOpen) return { send: { channel, to, from, text, clientRef, category: 'response' } };
      if (!settings.messengerTag) return { skip: 'outside the Messenger window and no MESSENGER_TAG configured' };
      return { send: { channel, to, from, text, clientRef, category: 'message_tag', tag: settings.messengerTag } };
    case 'viber_service':
      return { send: { channel, to, from, text, clientRef, category: 'transaction', ttl: input.ttlS ?? settings.viberTtlS } };
  }
}
