import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Queues } from '@tickercast/shared';
import { requireAdmin } from './auth.ts';

export interface BullBoardOptions {
  token: string;
  queues: Queues;
  /** PUBLIC_URL: pages there are ours (a change requested from another site is refused). */
  publicUrl: string;
}

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board for every queue, at /admin/queues, behind the admin token: as a Bearer token, or
 * as the password of HTTP Basic (any user name) so that a browser can log in at its prompt.
 */
export const bullBoard: FastifyPluginAsync<BullBoardOptions> = async (app, { token, queues, publicUrl }) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'tickercast queues' } },
  });
  app.addHook('onRequest', requireAdmin(token, 'Basic', publicUrl));
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
};
