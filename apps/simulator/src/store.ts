import type { MessageStatusError } from './problems.ts';
import type { Channel } from '@tickercast/shared';
import type { AcceptedRequest, ApiChannel } from './request-schema.ts';
import type { MessageStatus } from './status-webhooks.ts';

export interface AcceptedMessage {
  messageUuid: string;
  acceptedAt: string;
  /** When its request arrived: what the rate limit counts (acceptedAt is later by any injected latency). */
  arrivedAt: string;
  channel: ApiChannel;
  to: string;
  from: string;
  /** The text a phone shows: the text, or the template name and parameters. */
  display: string;
  /** The body as accepted: the first message of a failover request keeps its `failover`, so the request reads as it was sent. */
  request: AcceptedRequest & { failover?: AcceptedRequest[] };
  /** The latest status the message reached (absent until its first). */
  status?: MessageStatus;
  /** Why it failed, when it did. */
  error?: MessageStatusError;
  /**
   * Its place in a failover workflow (a request with `failover`): the workflow's id, its position
   * (1: the message requested first, 2: the first of `failover`, …) and how many messages it has.
   */
  workflow?: { id: string; item: number; total: number };
  /** Never reaches the phone, which does not show it: refused after acceptance (WhatsApp free text outside the window), or expired on the way (its ttl shorter than the network's delay). */
  refused?: boolean;
}

export interface ConversationEntry {
  direction: 'in' | 'out';
  at: string;
  text: string;
  messageUuid: string;
  /** For what the business sent: the latest status, for the phone page's ticks. */
  status?: MessageStatus;
}

const MAX_MESSAGES = 500_000;
const MAX_CONVERSATION = 500;

/** What the simulator accepted and what each phone saw, in memory, bounded. */
export class SimulatorStore {
  #messages: AcceptedMessage[] = [];
  readonly #conversations = new Map<string, ConversationEntry[]>();
  #acceptedTotal = 0;

  /** Keeps an accepted message; unless it was refused, the recipient's phone shows it (the line is returned, for its status). */
  accept(message: AcceptedMessage): ConversationEntry | undefined {
    this.#acceptedTotal++;
    this.#messages.push(message);
    // Drop the oldest tenth at once rather than shifting per message.
    if (this.#messages.length > MAX_MESSAGES) this.#messages = this.#messages.slice(MAX_MESSAGES / 10);
    if (message.refused) return undefined;
    const entry: ConversationEntry = { direction: 'out', at: message.acceptedAt, text: message.display, messageUuid: message.messageUuid };
    this.#append(message.channel, message.to, entry);
    return entry;
  }

  recordInbound(channel: Channel, from: string, entry: Omit<ConversationEntry, 'direction'>): void {
    this.#append(channel, from, { ...entry, direction: 'in' });
  }

  messages(filter: { channel?: string | undefined; to?: string | undefined; since?: number | undefined } = {}): AcceptedMessage[] {
    return this.#messages.filter(
      (m) =>
        (filter.channel === undefined || m.channel === filter.channel) &&
        (filter.to === undefined || m.to === filter.to) &&
        (filter.since === undefined || Date.parse(m.acceptedAt) >= filter.since),
    );
  }

  get acceptedTotal(): number {
    return this.#acceptedTotal;
  }

  conversation(channel: string, number: string): ConversationEntry[] {
    return (this.#conversations.get(`${channel}:${number}`) ?? []).slice(-MAX_CONVERSATION);
  }

  phones(): { channel: string; number: string; messages: number; lastAt: string | undefined }[] {
    return [...this.#conversations.entries()].map(([key, entries]) => {
      const at = key.indexOf(':');
      return { channel: key.slice(0, at), number: key.slice(at + 1), messages: Math.min(entries.length, MAX_CONVERSATION), lastAt: entries.at(-1)?.at };
    });
  }

  reset(): void {
    this.#messages = [];
    this.#conversations.clear();
    this.#acceptedTotal = 0;
  }

  #append(channel: string, number: string, entry: ConversationEntry): void {
    const key = `${channel}:${number}`;
    let list = this.#conversations.get(key);
    if (!list) this.#conversations.set(key, (list = []));
    list.push(entry);
    // Trim in batches, not per message: a busy phone would otherwise cost a 500-element shift each time.
    if (list.length > MAX_CONVERSATION + MAX_CONVERSATION / 5) list.splice(0, list.length - MAX_CONVERSATION);
  }
}

export function displayText(body: AcceptedRequest): string {
  if (body.message_type === 'image') return `[image ${body.image.url}]${body.image.caption ? ` ${body.image.caption}` : ''}`;
  if (body.message_type === 'template') {
    return `[template ${body.template.name}] ${(body.template.parameters ?? []).join(' · ')}`.trim();
  }
  return body.text;
}
