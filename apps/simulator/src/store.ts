import type { AcceptedRequest, ApiChannel, SimChannel } from './request-schema.ts';

export interface AcceptedMessage {
  messageUuid: string;
  acceptedAt: string;
  channel: ApiChannel;
  to: string;
  from: string;
  /** The text a phone shows: the text, or the template name and parameters. */
  display: string;
  request: AcceptedRequest;
}

export interface ConversationEntry {
  direction: 'in' | 'out';
  at: string;
  text: string;
  messageUuid: string;
}

const MAX_MESSAGES = 500_000;
const MAX_CONVERSATION = 500;

/** What the simulator accepted and what each phone saw, in memory, bounded. */
export class SimulatorStore {
  #messages: AcceptedMessage[] = [];
  readonly #conversations = new Map<string, ConversationEntry[]>();
  #acceptedTotal = 0;

  accept(message: AcceptedMessage): void {
    this.#acceptedTotal++;
    this.#messages.push(message);
    // Drop the oldest tenth at once rather than shifting per message.
    if (this.#messages.length > MAX_MESSAGES) this.#messages = this.#messages.slice(MAX_MESSAGES / 10);
    this.#append(message.channel, message.to, {
      direction: 'out',
      at: message.acceptedAt,
      text: message.display,
      messageUuid: message.messageUuid,
    });
  }

  recordInbound(channel: SimChannel, from: string, entry: Omit<ConversationEntry, 'direction'>): void {
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
    return this.#conversations.get(`${channel}:${number}`) ?? [];
  }

  phones(): { channel: string; number: string; messages: number; lastAt: string | undefined }[] {
    return [...this.#conversations.entries()].map(([key, entries]) => {
      const at = key.indexOf(':');
      return { channel: key.slice(0, at), number: key.slice(at + 1), messages: entries.length, lastAt: entries.at(-1)?.at };
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
    if (list.length > MAX_CONVERSATION) list.splice(0, list.length - MAX_CONVERSATION);
  }
}

export function displayText(body: AcceptedRequest): string {
  if (body.message_type === 'image') return `[image ${body.image.url}]${body.image.caption ? ` ${body.image.caption}` : ''}`;
  if (body.message_type === 'template') {
    return `[template ${body.template.name}] ${(body.template.parameters ?? []).join(' · ')}`.trim();
  }
  return body.text;
}
