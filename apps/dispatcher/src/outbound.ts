import { MESSAGES_API_CHANNELS, type OutboundMessage } from '@tickercast/messages-client';
import type { Channel } from '@tickercast/shared';

/** What the configuration decides about outbound messages (the rules themselves are the channel tables'). */
export interface OutboundSettings {
  whatsappTemplate: { name: string; locale: string };
  /** The Messenger tag allowed outside the window; without one nothing is sent there. */
  messengerTag: string | undefined;
  viberTtlS: number;
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
      return { send: { channel, to, from, text, clientRef } };
    case 'whatsapp':
      if (windowOpen) return { send: { channel, to, from, text, clientRef } };
      // Outside the window only an approved template may be sent; the text is its one parameter.
      return {
        send: { channel, to, from, clientRef, template: { name: settings.whatsappTemplate.name, locale: settings.whatsappTemplate.locale, parameters: [text] } },
      };
    case 'messenger':
      if (windowOpen) return { send: { channel, to, from, text, clientRef, category: 'response' } };
      if (!settings.messengerTag) return { skip: 'outside the Messenger window and no MESSENGER_TAG configured' };
      return { send: { channel, to, from, text, clientRef, category: 'message_tag', tag: settings.messengerTag } };
    case 'viber_service':
      return { send: { channel, to, from, text, clientRef, category: 'transaction', ttl: settings.viberTtlS } };
  }
}
