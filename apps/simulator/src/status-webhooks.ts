import { MESSAGES_API_CHANNELS } from '@tickercast/messages-client';
import { messageStatusError, type MessageStatusError } from './problems.ts';
import type { Random } from './random.ts';
import type { AcceptedRequest, ApiChannel } from './request-schema.ts';
import type { AcceptedMessage, ConversationEntry } from './store.ts';
import type { OutgoingRequest, WebhookSender } from './webhook-delivery.ts';

/*
 * What happens to a message after its 202: statuses posted to the application's status URL (or
 * the message's own webhook_url), spaced by a small delay, as Vonage posts the message-status
 * webhook. Outcomes can be made to fail, by recipient or at a rate, with Vonage's error object.
 */

export const MESSAGE_STATUSES = ['submitted', 'delivered', 'read', 'rejected', 'undeliverable'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export type FailStatus = 'rejected' | 'undeliverable';

export interface StatusSettings {
  /** Post status webhooks at all (off for benchmarks: nothing is scheduled then). */
  enabled: boolean;
  /** Between acceptance and the first status, and between each status and the next. */
  delayMs: number;
  /** The fraction of messages that fail, picked at random (seedable). */
  failRate: number;
  failStatus: FailStatus;
  failCode: number;
  /**
   * Recipients whose every message fails, with the status and error code to report: by number
   * (every channel), or `channel:number` for one channel only (a WhatsApp user who is not on
   * WhatsApp any more, whose SMS still arrive).
   */
  failNumbers: Record<string, { status: FailStatus; code: number }>;
  /**
   * How long the simulated network takes to reach a phone (a handset switched off, out of coverage).
   * Decided, like every outcome, when the message is accepted: a message whose `ttl` is shorter
   * expires on the way (submitted, then undeliverable with 1360) and never reaches the phone; the
   * statuses themselves are still played `delayMs` apart, so a test need not wait out a ttl.
   */
  deliveryDelayMs: number;
}

export const DEFAULT_STATUS_SETTINGS: StatusSettings = {
  enabled: true,
  delayMs: 50,
  failRate: 0,
  failStatus: 'rejected',
  failCode: 1230,
  failNumbers: {},
  deliveryDelayMs: 0,
};

export interface StatusStep {
  status: MessageStatus;
  error?: MessageStatusError;
}

/** A message that failed is rejected outright, or submitted and then found undeliverable. */
function failure(status: FailStatus, code: number): StatusStep[] {
  const error = messageStatusError(code);
  return status === 'rejected' ? [{ status, error }] : [{ status: 'submitted' }, { status, error }];
}

/** Vonage's code for a message whose ttl ran out before it was delivered. */
export const TTL_EXPIRED_CODE = 1360;

/** The ttl (seconds) a request asked for, where its channel takes one: SMS and MMS at the top level, Viber under viber_service. */
export function requestTtlS(request: AcceptedRequest): number | undefined {
  switch (request.channel) {
    case 'sms':
    case 'mms':
      return request.ttl;
    case 'viber_service':
      return request.viber_service?.ttl;
    default:
      return undefined;
  }
}

/** Whether the network's delay outlasts the message's ttl: it is dropped on the way. */
export function expiresOnTheWay(request: AcceptedRequest, settings: Pick<StatusSettings, 'deliveryDelayMs'>): boolean {
  const ttlS = requestTtlS(request);
  return ttlS !== undefined && settings.deliveryDelayMs > ttlS * 1000;
}

/** The statuses one message will go through. `windowOpen` is false for WhatsApp free text outside the 24-hour window. */
export function planStatuses(message: AcceptedMessage, settings: StatusSettings, windowOpen: boolean, random: Random): StatusStep[] {
  if (!windowOpen) return [{ status: 'rejected', error: messageStatusError(1340) }];
  const byNumber = settings.failNumbers[`${message.channel}:${message.to}`] ?? settings.failNumbers[message.to];
  if (byNumber) return failure(byNumber.status, byNumber.code);
  if (settings.failRate > 0 && random() < settings.failRate) return failure(settings.failStatus, settings.failCode);
  if (expiresOnTheWay(message.request, settings)) return failure('undeliverable', TTL_EXPIRED_CODE);
  const steps: StatusStep[] = [{ status: 'submitted' }, { status: 'delivered' }];
  if (MESSAGES_API_CHANNELS[message.channel].readReceipts) steps.push({ status: 'read' });
  return steps;
}

/** Illustrative prices, as strings in EUR as Vonage reports them. */
const PRICES: Record<ApiChannel, string> = { sms: '0.0333', mms: '0.0400', whatsapp: '0', messenger: '0', viber_service: '0.0120' };

/** The message-status webhook body for one step (Messages API v1). */
export function statusBody(message: AcceptedMessage, step: StatusStep, at: number): Record<string, unknown> {
  const request = message.request;
  const billed = step.status === 'submitted' || step.status === 'delivered';
  const segments = request.channel === 'sms' ? Math.max(1, Math.ceil(request.text.length / 160)) : 1;
  return {
    message_uuid: message.messageUuid,
    to: message.to,
    from: message.from,
    timestamp: new Date(at).toISOString(),
    status: step.status,
    channel: message.channel,
    ...(request.client_ref !== undefined && { client_ref: request.client_ref }),
    ...(step.error && { error: step.error }),
    ...(message.workflow && {
      workflow: { workflow_id: message.workflow.id, items_number: String(message.workflow.item), items_total: String(message.workflow.total) },
    }),
    ...(billed && { usage: { currency: 'EUR', price: PRICES[message.channel] } }),
    ...(billed && request.channel === 'sms' && { sms: { count_total: String(segments) } }),
    ...(step.status === 'delivered' &&
      request.channel === 'whatsapp' && {
        whatsapp: {
          pricing: { type: 'regular', pricing_model: 'PMP', category: request.message_type === 'template' ? 'utility' : 'service' },
        },
      }),
  };
}

export interface StatusDeps {
  settings: () => StatusSettings;
  sender: WebhookSender;
  /** The application's status URL, when the message names none of its own. */
  statusUrl: string;
  now: () => number;
  /** The Authorization header for a body, when webhooks are signed. */
  sign?: ((rawBody: string) => Promise<string>) | undefined;
  counts: Record<MessageStatus, number>;
}

/** Moves a message (and its line in the phone's conversation) to a status, and counts it. */
function apply(deps: StatusDeps, message: AcceptedMessage, entry: ConversationEntry | undefined, step: StatusStep): void {
  message.status = step.status;
  if (step.error) message.error = step.error;
  if (entry) entry.status = step.status;
  deps.counts[step.status]++;
}

/** Whether a message that ended so was not delivered: the next message of its failover, if any, goes then. */
export function failedOver(last: StatusStep | undefined): boolean {
  return last?.status === 'rejected' || last?.status === 'undeliverable';
}

/**
 * Plays a message's statuses: each after the delay, posted when status webhooks are on. `then`
 * runs once the last is applied (a failover's next message waits for the end of the one before).
 */
export function runStatuses(
  deps: StatusDeps,
  message: AcceptedMessage,
  entry: ConversationEntry | undefined,
  steps: StatusStep[],
  then?: (last: StatusStep | undefined) => void,
): void {
  const settings = deps.settings();
  if (!settings.enabled) {
    // No webhooks, no timers: the message simply ends in its final state.
    for (const step of steps) apply(deps, message, entry, step);
    then?.(steps.at(-1));
    return;
  }
  const url = message.request.webhook_url ?? deps.statusUrl;
  const next = (i: number) => {
    const step = steps[i];
    if (!step) return;
    apply(deps, message, entry, step);
    const raw = JSON.stringify(statusBody(message, step, deps.now()));
    void deps.sender.deliver('status', async (): Promise<OutgoingRequest> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (deps.sign) headers.authorization = await deps.sign(raw);
      return { url, method: 'POST', headers, body: raw };
    });
    if (i + 1 < steps.length) deps.sender.later(() => next(i + 1), settings.delayMs);
    else then?.(step);
  };
  deps.sender.later(() => next(0), settings.delayMs);
}
