import closeWithGrace from 'close-with-grace';
import { closeRedis, connectRedis, createLogger, createQueues, loadConfigOrExit, configuredKeys, requireWebhookSecret } from '@tickercast/shared';
import { buildIngress, ingressSettings } from './app.ts';

const config = loadConfigOrExit(process.env, requireWebhookSecret);
const logger = createLogger('ingress', config.LOG_LEVEL);
const keys = configuredKeys(config);
const redis = connectRedis(config, { connectionName: 'ingress' });
const queues = createQueues(redis, keys, { sendPartitions: config.SEND_PARTITIONS });
const app = buildIngress({ queues, redis, keys, logger, ...ingressSettings(config) });

if (!config.VONAGE_SIGNATURE_SECRET) {
  logger.warn(
    config.ALLOW_UNSIGNED_WEBHOOKS
      ? 'ALLOW_UNSIGNED_WEBHOOKS=true and no VONAGE_SIGNATURE_SECRET: webhooks are NOT verified, anyone can subscribe any number'
      : 'VONAGE_SIGNATURE_SECRET is not set: webhooks are NOT verified, anyone can post to them (a production ingress refuses to start so)',
  );
}
if (!config.ADMIN_TOKEN) {
  logger.info('ADMIN_TOKEN is not set: the admin API and Bull Board are off, and /metrics is open (firewall it)');
}

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'shutting down');
  await app.close();
  await queues.close();
  await closeRedis(redis);
});

await app.listen({ port: config.PORT, host: config.HOST });
logger.info(`ingress listening on http://localhost:${config.PORT}`);
