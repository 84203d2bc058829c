/*
 * Where the simulator may post a message's status webhooks. Vonage posts them to any webhook_url
 * a message names; a simulator that did so would let whoever can send (compose's Basic
 * credentials are public) aim signed requests at any host inside the network. It keeps Vonage's
 * per-message override, but only within the application's own origin and those allowed
 * explicitly, and refuses the rest as Vonage refuses a bad parameter, so the sender learns it at
 * once instead of waiting for statuses that go elsewhere.
 */

export type WebhookTargetCheck = (url: string) => string | undefined;

/** The origins allowed: the application's (from its webhook base URL) and the extra ones given. */
export function webhookTargets(webhookBaseUrl: string, extraOrigins: readonly string[] = []): WebhookTargetCheck {
  const allowed = new Set([new URL(webhookBaseUrl).origin, ...extraOrigins.map((o) => new URL(o).origin)]);
  return (url) => {
    const origin = URL.canParse(url) ? new URL(url).origin : undefined;
    if (origin !== undefined && allowed.has(origin)) return undefined;
    return `the simulator posts webhooks only to ${[...allowed].join(', ')} (SIMULATOR_WEBHOOK_URL, SIMULATOR_WEBHOOK_ALLOW)`;
  };
}
