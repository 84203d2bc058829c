import { isPageScopedId, isSmsSender, normalizeAddress, normalizeNumber } from './addresses.ts';
import { API_CHANNELS, MESSAGES_API_CHANNELS, type ApiChannel } from './channels.ts';
import { MessageValidationError } from './errors.ts';
import { outboundMessageSchema, type OutboundMessage } from './messages.ts';

/** The flat Messages API v1 request body. */
export type RequestBody = Record<string, unknown>;

const NOT_A_NUMBER = 'not an E.164 phone number (7-15 digits, country code first)';

function number(field: 'from', value: string): string {
  const n = normalizeNumber(value);
  if (!n) throw new MessageValidationError(field, NOT_A_NUMBER);
  return n;
}

function recipient(channel: ApiChannel, value: string): string {
  const to = normalizeAddress(channel, value);
  if (!to) throw new MessageValidationError('to', MESSAGES_API_CHANNELS[channel].address === 'phone number' ? NOT_A_NUMBER : 'not a page-scoped id');
  return to;
}

const CHANNELS: ReadonlySet<string> = new Set<string>(API_CHANNELS);

/**
 * Validates a message and builds the v1 body. Throws MessageValidationError before any request
 * is made when an address or field is wrong for its channel.
 */
export function buildRequestBody(input: OutboundMessage): RequestBody {
  const { failover, ...message } = input;
  const body = buildOne(message);
  if (failover === undefined || failover.length === 0) return body;
  // Each failover message is a whole message of its own, checked as one; field names say which.
  const legs = failover.map((leg, i) => {
    try {
      return buildOne(leg);
    } catch (err) {
      if (err instanceof MessageValidationError) throw new MessageValidationError(`failover.${i}.${err.field}`, err.message.slice(err.field.length + 2));
      throw err;
    }
  });
  return { ...body, failover: legs };
}

function buildOne(input: OutboundMessage): RequestBody {
  const raw = input as Partial<Record<string, unknown>>;
  if (typeof raw.channel !== 'string' || !CHANNELS.has(raw.channel)) {
    throw new MessageValidationError('channel', `must be one of ${API_CHANNELS.join(', ')}`);
  }
  if (raw.channel === 'whatsapp' && raw.text !== undefined && raw.template !== undefined) {
    throw new MessageValidationError('template', 'a WhatsApp message is either text or a template, not both');
  }
  const parsed = outboundMessageSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MessageValidationError(issue.path.join('.') || 'message', issue.message);
  }
  const m = parsed.data;
  const base: RequestBody = {
    channel: m.channel,
    ...(m.clientRef !== undefined && { client_ref: m.clientRef }),
    ...(m.webhookUrl !== undefined && { webhook_url: m.webhookUrl, webhook_version: 'v1' }),
  };

  switch (m.channel) {
    case 'sms':
      if (!isSmsSender(m.from)) throw new MessageValidationError('from', 'not a number or an alphanumeric sender id of at most 11 characters');
      return {
        ...base,
        message_type: 'text',
        to: recipient(m.channel, m.to),
        from: normalizeNumber(m.from) ?? m.from,
        text: m.text,
        ...(m.ttl !== undefined && { ttl: m.ttl }),
        ...(m.encoding !== undefined && { sms: { encoding_type: m.encoding } }),
      };
    case 'mms':
      return {
        ...base,
        message_type: 'image',
        to: recipient(m.channel, m.to),
        from: number('from', m.from),
        image: { url: m.image.url, ...(m.image.caption !== undefined && { caption: m.image.caption }) },
        ...(m.ttl !== undefined && { ttl: m.ttl }),
      };
    case 'whatsapp':
      if ('template' in m) {
        return {
          ...base,
          message_type: 'template',
          to: recipient(m.channel, m.to),
          from: number('from', m.from),
          template: { name: m.template.name, parameters: m.template.parameters },
          whatsapp: { policy: 'deterministic', locale: m.template.locale },
        };
      }
      return { ...base, message_type: 'text', to: recipient(m.channel, m.to), from: number('from', m.from), text: m.text };
    case 'messenger': {
      const to = recipient(m.channel, m.to);
      if (!isPageScopedId(m.from)) throw new MessageValidationError('from', 'not a page id');
      if (m.category === 'message_tag' && !m.tag) throw new MessageValidationError('tag', 'required with category message_tag');
      return {
        ...base,
        message_type: 'text',
        to,
        from: m.from,
        text: m.text,
        ...(m.category !== undefined && { messenger: { category: m.category, ...(m.tag !== undefined && { tag: m.tag }) } }),
      };
    }
    case 'viber_service':
      return {
        ...base,
        message_type: 'text',
        to: recipient(m.channel, m.to),
        from: m.from,
        text: m.text,
        ...((m.category !== undefined || m.ttl !== undefined) && {
          viber_service: {
            ...(m.category !== undefined && { category: m.category }),
            ...(m.ttl !== undefined && { ttl: m.ttl }),
          },
        }),
      };
  }
}
