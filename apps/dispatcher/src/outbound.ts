import type { OutboundMessage } from '@tickercast/messages-client';
import type { Channel } from '@tickercast/shared';

/** WhatsApp and Messenger let a business write freely for 24 hours after the person's last message. */
export const CUSTOMER_CARE_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface ChannelRules {
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

/** The message a text becomes on each channel, following that channel's rules. */
export function outboundFor(input: OutboundInput, rules: ChannelRules): OutboundDecision {
  const { channel, to, from, text, clientRef } = input;
  const windowOpen = input.lastInboundAt !== undefined && input.now - input.lastInboundAt < CUSTOMER_CARE_WINDOW_MS;
  switch (channel) {
    case 'sms':
      return { send: { channel, to, from, text, clientRef } };
    case 'whatsapp':
      if (windowOpen) return { send: { channel, to, from, text, clientRef } };
      // Outside the window only an approved template may be sent; the text is its one parameter.
      return {
        send: { channel, to, from, clientRef, template: { name: rules.whatsappTemplate.name, locale: rules.whatsappTemplate.locale, parameters: [text] } },
      };
    case 'messenger':
      if (windowOpen) return { send: { channel, to, from, text, clientRef, category: 'response' } };
      if (!rules.messengerTag) return { skip: 'outside the Messenger window and no MESSENGER_TAG configured' };
      return { send: { channel, to, from, text, clientRef, category: 'message_tag', tag: rules.messengerTag } };
    case 'viber_service':
      return { send: { channel, to, from, text, clientRef, category: 'transaction', ttl: rules.viberTtlS } };
  }
}
