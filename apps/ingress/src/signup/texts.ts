import type { SignupChannel } from '@tickercast/shared';

/**
 * The one message a web signup sends: it asks for a YES and subscribes nobody by itself.
 * WhatsApp: this person has never written to us, so the dispatcher sends it as the approved
 * opt-in template (WHATSAPP_OPTIN_TEMPLATE_NAME) with this text as its parameter. Viber: the first message
 * of a service must be transactional, and it invites an accept or a decline.
 */
export function confirmationText(channel: SignupChannel, symbols: readonly string[]): string {
  const list = symbols.join(', ');
  if (channel === 'viber_service') {
    return `Welcome to tickercast! You asked for ${list} price updates. Reply YES to start, NO to decline.`;
  }
  return `Reply YES to get ${list} price updates from tickercast. Ignore this if you did not ask.`;
}
