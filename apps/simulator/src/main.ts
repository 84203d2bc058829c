import closeWithGrace from 'close-with-grace';
import { createLogger, isLoopback, loadConfigOrExit, requireSimulatorToken, senderFor } from '@tickercast/shared';
import { credentialsFrom } from './auth.ts';
import { buildSimulator } from './app.ts';

const config = loadConfigOrExit(process.env, requireSimulatorToken);
const logger = createLogger('simulator', config.LOG_LEVEL);
const credentials = credentialsFrom({
  applicationId: config.VONAGE_APPLICATION_ID,
  privateKey: config.VONAGE_PRIVATE_KEY,
  apiKey: config.VONAGE_API_KEY,
  apiSecret: config.VONAGE_API_SECRET,
});
if (!credentials.application && !credentials.basic) {
  logger.warn('no VONAGE_APPLICATION_ID/VONAGE_PRIVATE_KEY or VONAGE_API_KEY/VONAGE_API_SECRET: every send will get 401');
}
const { app } = buildSimulator({
  credentials,
  webhookBaseUrl: config.SIMULATOR_WEBHOOK_URL,
  webhookAllow: config.SIMULATOR_WEBHOOK_ALLOW,
  controlToken: config.SIMULATOR_TOKEN,
  signatureSecret: config.VONAGE_SIGNATURE_SECRET,
  signatureMethod: config.VONAGE_SIGNATURE_METHOD,
  businessNumbers: senderFor(config),
  logger,
  rateLimits: config.SIMULATOR_RATE_LIMITS,
  statusWebhooks: {
    enabled: config.SIMULATOR_STATUS_WEBHOOKS,
    delayMs: config.SIMULATOR_STATUS_DELAY_MS,
    failRate: config.SIMULATOR_FAIL_RATE,
    failStatus: config.SIMULATOR_FAIL_STATUS,
    failCode: config.SIMULATOR_FAIL_CODE,
    failNumbers: config.SIMULATOR_FAIL_NUMBERS,
    deliveryDelayMs: config.SIMULATOR_DELIVERY_DELAY_MS,
  },
  webhookDelivery: { retries: config.SIMULATOR_WEBHOOK_RETRIES, retryBaseMs: config.SIMULATOR_WEBHOOK_RETRY_BASE_MS },
  whatsappWindow: config.SIMULATOR_WHATSAPP_WINDOW,
  smsInbound: { format: config.SIMULATOR_SMS_INBOUND_FORMAT, method: config.SIMULATOR_SMS_INBOUND_METHOD },
  faults: config.SIMULATOR_FAULTS,
  seed: config.SIMULATOR_SEED,
});

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'shutting down');
  await app.close();
});

await app.listen({ port: config.SIMULATOR_PORT, host: config.SIMULATOR_HOST });
logger.info(
  {
    host: config.SIMULATOR_HOST,
    control: config.SIMULATOR_TOKEN ? 'this machine, or anyone with SIMULATOR_TOKEN' : 'this machine only',
    webhooks: config.SIMULATOR_WEBHOOK_URL,
    webhookAllow: config.SIMULATOR_WEBHOOK_ALLOW,
    rateLimits: config.SIMULATOR_RATE_LIMITS,
    statusWebhooks: config.SIMULATOR_STATUS_WEBHOOKS,
    faults: config.SIMULATOR_FAULTS ?? null,
  },
  `simulator listening on http://${isLoopback(config.SIMULATOR_HOST) ? 'localhost' : config.SIMULATOR_HOST}:${config.SIMULATOR_PORT}`,
);
