import type { AcceptedRequest } from './request-schema.ts';

/**
 * WhatsApp's customer-care window: free text only within 24 hours of the user's last message.
 * Stated here rather than read from the client's MESSAGES_API_CHANNELS: the simulator must refuse
 * what Vonage refuses even when the client's table is wrong.
 */
export const WHATSAPP_WINDOW_MS = 24 * 60 * 60 * 1000;

/** When each WhatsApp phone last wrote to the business (through this simulator), by number. */
export class WhatsAppWindows {
  readonly #lastInbound = new Map<string, number>();

  record(number: string, at: number): void {
    this.#lastInbound.set(number, at);
  }

  /** Sets (or, with undefined, forgets) a phone's last inbound time: for tests and for people exploring. */
  set(number: string, at: number | undefined): void {
    if (at === undefined) this.#lastInbound.delete(number);
    else this.#lastInbound.set(number, at);
  }

  lastInbound(number: string): number | undefined {
    return this.#lastInbound.get(number);
  }

  isOpen(number: string, now: number): boolean {
    const last = this.#lastInbound.get(number);
    return last !== undefined && now - last < WHATSAPP_WINDOW_MS;
  }

  /** Until when free text may be sent to `number`, if the window is open at `now`. */
  openUntil(number: string, now: number): number | undefined {
    const last = this.#lastInbound.get(number);
    return last !== undefined && now - last < WHATSAPP_WINDOW_MS ? last + WHATSAPP_WINDOW_MS : undefined;
  }

  reset(): void {
    this.#lastInbound.clear();
  }
}

/** Anything on WhatsApp but an approved template is free-form, and needs the window open. */
export function needsWhatsAppWindow(request: AcceptedRequest): boolean {
  return request.channel === 'whatsapp' && request.message_type !== 'template';
}
