import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Queues } from '@tickercast/shared';
import { requireAdmin } from './auth.ts';

export interface BullBoardOptions {
  token: string;
  queues: Queues;
}

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board for every queue, at /admin/queues, behind the admin token: as a Bearer token, or
 * as the password of HTTP Basic (any user name) so that a browser can log in at its prompt.
 */
export const bullBoard: FastifyPluginAsync<BullBoardOptions> = async (app, { token, queues }) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'tickercast queues' } },
  });
  app.addHook('onRequest', requireAdmin(token, 'Basic'));
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
};
