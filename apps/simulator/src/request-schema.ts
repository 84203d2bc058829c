import { z } from 'zod';

/*
 * What the Messages API v1 accepts on POST /v1/messages for the channels the simulator serves,
 * written from Vonage's published OpenAPI description (tests check the two agree on the
 * bodies our client builds). A body outside these rules gets the 422 Vonage would send.
 */

const e164 = z.string().regex(/^[1-9]\d{6,14}$/, 'must be E.164 without + or 00 (7-15 digits)');
const common = {
  client_ref: z.string().max(100).optional(),
  webhook_url: z.url().optional(),
  webhook_version: z.enum(['v0.1', 'v1']).optional(),
};

const sms = z.object({
  channel: z.literal('sms'),
  message_type: z.literal('text'),
  to: e164,
  from: z.union([e164, z.string().regex(/^[A-Za-z0-9 ]{1,11}$/, 'must be a number or up to 11 alphanumerics')]),
  text: z.string().min(1).max(1000),
  ttl: z.number().int().min(20).max(604_800).optional(),
  sms: z
    .object({
      encoding_type: z.enum(['text', 'unicode', 'auto']).optional(),
      content_id: z.string().optional(),
      entity_id: z.string().optional(),
    })
    .optional(),
  ...common,
});

const mms = z.object({
  channel: z.literal('mms'),
  message_type: z.literal('image'),
  to: e164,
  from: e164,
  image: z.object({ url: z.url({ protocol: /^https?$/ }), caption: z.string().min(1).max(3000).optional() }),
  ttl: z.number().int().min(300).max(259_200).optional(),
  ...common,
});

const whatsappBase = { channel: z.literal('whatsapp'), to: e164, from: e164, ...common };
const whatsappText = z.object({ ...whatsappBase, message_type: z.literal('text'), text: z.string().min(1).max(4096) });
const whatsappTemplate = z.object({
  ...whatsappBase,
  message_type: z.literal('template'),
  template: z.object({ name: z.string().min(1), parameters: z.array(z.string()).optional() }),
  whatsapp: z.object({ policy: z.literal('deterministic').optional(), locale: z.string().min(2) }),
});

const messengerId = z.string().min(1).max(50);
const messenger = z.object({
  channel: z.literal('messenger'),
  message_type: z.literal('text'),
  to: messengerId,
  from: messengerId,
  text: z.string().min(1).max(640),
  messenger: z
    .object({ category: z.enum(['response', 'update', 'message_tag']).optional(), tag: z.string().optional() })
    .refine((m) => m.category !== 'message_tag' || Boolean(m.tag), { message: 'tag is required with category message_tag', path: ['tag'] })
    .optional(),
  ...common,
});

const viber = z.object({
  channel: z.literal('viber_service'),
  message_type: z.literal('text'),
  to: e164,
  from: z.string().min(1).max(50),
  text: z.string().min(1).max(1000),
  viber_service: z
    .object({
      category: z.enum(['transaction', 'promotion']).optional(),
      ttl: z.number().int().min(30).max(259_200).optional(),
      type: z.string().optional(),
    })
    .optional(),
  ...common,
});

export const SCHEMAS_BY_CHANNEL = {
  sms: [sms],
  mms: [mms],
  whatsapp: [whatsappText, whatsappTemplate],
  messenger: [messenger],
  viber_service: [viber],
} as const;

/** Every channel POST /v1/messages accepts. */
export type ApiChannel = keyof typeof SCHEMAS_BY_CHANNEL;
export const API_CHANNELS = Object.keys(SCHEMAS_BY_CHANNEL) as ApiChannel[];

export type AcceptedRequest =
  | z.infer<typeof sms>
  | z.infer<typeof mms>
  | z.infer<typeof whatsappText>
  | z.infer<typeof whatsappTemplate>
  | z.infer<typeof messenger>
  | z.infer<typeof viber>;

export type ValidationResult =
  | { ok: true; body: AcceptedRequest; failover: AcceptedRequest[] }
  | { ok: false; invalid: { name: string; reason: string }[] };

/** The most failover messages one request may carry (Vonage publishes no figure; one per other channel is plenty). */
export const FAILOVER_MAX = 5;

/**
 * Validates a parsed body, and its `failover` (components/schemas/Failover: an array of whole
 * messages, each on its own channel's rules, tried in turn when the one before is not delivered);
 * on failure names every invalid parameter, as Vonage's 422 does.
 */
export function validateRequest(body: unknown): ValidationResult {
  const main = validateOne(body);
  if (!main.ok) return main;
  const failover = (body as { failover?: unknown }).failover;
  if (failover === undefined) return { ok: true, body: main.body, failover: [] };
  if (!Array.isArray(failover) || failover.length === 0 || failover.length > FAILOVER_MAX) {
    return { ok: false, invalid: [{ name: 'failover', reason: `must be an array of 1 to ${FAILOVER_MAX} messages` }] };
  }
  const legs: AcceptedRequest[] = [];
  const invalid: { name: string; reason: string }[] = [];
  failover.forEach((item: unknown, i) => {
    if (typeof item === 'object' && item !== null && 'failover' in item) {
      invalid.push({ name: `failover.${i}.failover`, reason: 'a failover message cannot have a failover of its own' });
      return;
    }
    const leg = validateOne(item);
    if (leg.ok) legs.push(leg.body);
    else invalid.push(...leg.invalid.map((p) => ({ name: `failover.${i}.${p.name}`, reason: p.reason })));
  });
  return invalid.length > 0 ? { ok: false, invalid } : { ok: true, body: main.body, failover: legs };
}

function validateOne(body: unknown): { ok: true; body: AcceptedRequest } | { ok: false; invalid: { name: string; reason: string }[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, invalid: [{ name: 'body', reason: 'must be a JSON object' }] };
  }
  const channel = (body as { channel?: unknown }).channel;
  if (typeof channel !== 'string' || !(channel in SCHEMAS_BY_CHANNEL)) {
    return { ok: false, invalid: [{ name: 'channel', reason: `must be one of ${API_CHANNELS.join(', ')}` }] };
  }
  const candidates = SCHEMAS_BY_CHANNEL[channel as ApiChannel];
  const messageType = (body as { message_type?: unknown }).message_type;
  // Report against the schema for the message_type given, so the reasons are about the right fields.
  const schema =
    candidates.find((s) => (s.shape.message_type as z.ZodLiteral<string>).value === messageType) ?? candidates[0];
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, body: result.data };
  return {
    ok: false,
    invalid: result.error.issues.map((i) => ({ name: i.path.join('.') || 'body', reason: i.message })),
  };
}
