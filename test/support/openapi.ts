import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/*
 * Vonage's OpenAPI description of the Messages API v1, loaded at test time from the shared
 * reference folder beside the checkout (never copied into the project). When it is absent,
 * `specAvailable` is false and the tests that need it skip with `SPEC_MISSING_NOTICE`.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SPEC_PATH = path.join(repoRoot, '..', 'shared', 'reference', 'vonage-messages-v1.openapi.json');
export const specAvailable = existsSync(SPEC_PATH);
export const SPEC_MISSING_NOTICE = `Vonage's Messages API spec was not found at ${SPEC_PATH}: the tests that check bodies against it are skipped`;

/** Call at the top of a test file that has spec-dependent tests: says once why they skip. */
export function warnIfSpecMissing(): void {
  if (!specAvailable) console.warn(SPEC_MISSING_NOTICE);
}

const SPEC_ID = 'https://tickercast.test/vonage-messages-v1.openapi.json';

export const SIX_CHANNELS = ['sms', 'mms', 'rcs', 'whatsapp', 'messenger', 'viber_service'] as const;
export const MESSAGE_STATUSES = ['submitted', 'delivered', 'read', 'rejected', 'undeliverable'] as const;

type Json = Record<string, unknown>;

export interface SchemaCheck {
  valid: boolean;
  /** Readable ajv errors (`/path message`), empty when valid. */
  errors: string[];
}

interface Validators {
  request: ValidateFunction;
  inbound: ValidateFunction;
  status: ValidateFunction;
  component(name: string): ValidateFunction;
}

let validators: Validators | undefined;

/** A JSON pointer into the spec, as a `$ref` fragment (each segment escaped, then URI-encoded). */
function refTo(...segments: string[]): { $ref: string } {
  const pointer = segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
  return { $ref: `${SPEC_ID}#/${pointer}` };
}

/** OpenAPI 3.0 `nullable: true` is not JSON Schema: turn it into a `null` type (or drop it if no type). */
function convertNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) convertNullable(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Json;
  if (obj.nullable === true) {
    if (typeof obj.type === 'string') obj.type = [obj.type, 'null'];
    else if (Array.isArray(obj.type) && !obj.type.includes('null')) obj.type = [...(obj.type as string[]), 'null'];
    if (Array.isArray(obj.enum) && !obj.enum.includes(null)) obj.enum = [...(obj.enum as unknown[]), null];
  }
  delete obj.nullable;
  for (const value of Object.values(obj)) convertNullable(value);
}

/**
 * KNOWN DEFECT in Vonage's published spec:
 * `messageStatusBase.status` omits `read`, while the WhatsApp, Messenger, Viber and RCS status
 * schemas narrow `status` to `["read"]`, so their allOf can match nothing and every non-SMS (and
 * every `read`) status fails. We patch the copy held in memory, and only the message-status
 * schemas: the base accepts the five statuses and the six channels, and each channel's schema
 * accepts the five statuses (its own `channel` enum still tells the channels apart). The
 * outbound request schemas are left exactly as published.
 */
function patchMessageStatusSchemas(schemas: Record<string, Json>): void {
  const base = schemas.messageStatusBase as { properties: Record<string, Json> } | undefined;
  if (!base) throw new Error('spec has no components.schemas.messageStatusBase: the known-defect patch no longer applies');
  base.properties.status = { ...base.properties.status, enum: [...MESSAGE_STATUSES] };
  base.properties.channel = { type: 'string', enum: [...SIX_CHANNELS] };
  for (const name of ['messageStatusSMS', 'messageStatusMMS', 'messageStatusRCS', 'messageStatusWhatsApp', 'messageStatusMessenger', 'messageStatusViber']) {
    const parts = (schemas[name] as { allOf?: Json[] } | undefined)?.allOf ?? [];
    for (const part of parts) {
      const props = part.properties as Record<string, Json> | undefined;
      if (props?.status) props.status = { ...props.status, enum: [...MESSAGE_STATUSES] };
    }
  }
}

function load(): Validators {
  if (validators) return validators;
  if (!specAvailable) throw new Error(SPEC_MISSING_NOTICE);
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Json & { components: { schemas: Record<string, Json> } };
  convertNullable(spec);
  patchMessageStatusSchemas(spec.components.schemas);

  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);
  ajv.addSchema(spec, SPEC_ID);

  const json = ['requestBody', 'content', 'application/json', 'schema'];
  const webhook = (name: string) => ajv.compile(refTo('x-webhooks', name, '{$request.body#/callback}', 'post', ...json));
  const components = new Map<string, ValidateFunction>();
  validators = {
    request: ajv.compile(refTo('paths', '/v1/messages', 'post', ...json)),
    inbound: webhook('inbound-message'),
    status: webhook('message-status'),
    component(name) {
      let v = components.get(name);
      if (!v) components.set(name, (v = ajv.compile(refTo('components', 'schemas', name))));
      return v;
    },
  };
  return validators;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
}

function check(validate: ValidateFunction, body: unknown, explain?: ValidateFunction): SchemaCheck {
  if (validate(body)) return { valid: true, errors: [] };
  // The top-level schemas are oneOf over every channel and type, whose errors are a wall of
  // mismatches; the channel's own component schema says what is actually wrong.
  if (explain && !explain(body)) return { valid: false, errors: describeErrors(explain.errors) };
  return { valid: false, errors: describeErrors(validate.errors) };
}

/** The component schema describing one of our outbound bodies, by channel and message_type. */
const OUTBOUND_COMPONENT: Record<string, string> = {
  'sms/text': 'OutboundSMSText',
  'whatsapp/text': 'OutboundWhatsAppText',
  'whatsapp/template': 'OutboundWhatsAppTemplate',
  'messenger/text': 'OutboundMessengerText',
  'viber_service/text': 'OutboundViberText',
};

/** Validates a POST /v1/messages body against the request schema Vonage publishes. */
export function validateRequestBody(body: unknown): SchemaCheck {
  const v = load();
  const b = body as { channel?: unknown; message_type?: unknown } | null;
  const component = OUTBOUND_COMPONENT[`${String(b?.channel)}/${String(b?.message_type)}`];
  return check(v.request, body, component ? v.component(component) : undefined);
}

/** The component schema holding each channel's required inbound fields. */
const INBOUND_COMPONENT: Record<string, string> = {
  sms: 'inboundMessageSMS',
  whatsapp: 'inboundWhatsAppMessageCommon',
  messenger: 'InboundMessengerMessageCommon',
  viber_service: 'InboundViberMessageCommon',
};

/** Validates an inbound-message webhook body against the spec's `x-webhooks` schema. */
export function validateInboundWebhook(body: unknown): SchemaCheck {
  const v = load();
  const component = INBOUND_COMPONENT[String((body as { channel?: unknown } | null)?.channel)];
  return check(v.inbound, body, component ? v.component(component) : undefined);
}

/** Validates a message-status webhook body against the spec's `x-webhooks` schema, patched as described above. */
export function validateStatusWebhook(body: unknown): SchemaCheck {
  return check(load().status, body);
}
