import type { OutboundMessage } from '@tickercast/messages-client';
import type { Channel } from '@tickercast/shared';

/** The message a text becomes on each channel, from our sender id to the subscriber's address. */
export function textMessage(channel: Channel, to: string, from: string, text: string, clientRef: string): OutboundMessage {
  switch (channel) {
    case 'sms':
      return { channel, to, from, text, clientRef };
    case 'whatsapp':
      return { channel, to, from, text, clientRef };
    case 'messenger':
      return { channel, to, from, text, clientRef, category: 'response' };
    case 'viber_service':
      return { channel, to, from, text, clientRef, category: 'transaction' };
  }
}
