import closeWithGrace from 'close-with-grace';
import { createLogger, loadConfigOrExit, vonageAuth } from '@tickercast/shared';
import { buildDispatcher } from './dispatcher.ts';

const config = loadConfigOrExit();
const logger = createLogger('dispatcher', config.LOG_LEVEL);
const auth = vonageAuth(config);
if (!auth) {
  logger.fatal(
    'no Vonage credentials: set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_API_KEY and VONAGE_API_SECRET); `npm start` sets them for the simulator',
  );
  process.exit(78);
}

const dispatcher = await buildDispatcher(config, { logger });

closeWithGrace({ delay: 20_000 }, async ({ err, signal }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'shutting down: finishing jobs in flight');
  await dispatcher.close();
});

logger.info({ queues: dispatcher.workers.map((w) => w.name), api: config.VONAGE_API_URL, auth: auth.kind }, 'dispatching');
