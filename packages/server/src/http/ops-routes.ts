import { listNodes } from '@io-session/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { handlerDefaults } from '../defaults.js';
import type { SessionHandler } from '../session-handler.js';
import { parse } from './parse.js';

/** `/v1/nodes`, `/v1/stats`, `/v1/feed`: what the dashboard shows. */
export function registerOpsRoutes(v1: FastifyInstance, handler: SessionHandler): void {
  v1.get('/nodes', async () => ({ nodes: await listNodes(handler.store) }));

  v1.get('/stats', async () => {
    const [messages, sessions, nodes] = await Promise.all([
      handler.store.messages.stats(),
      handler.store.reads.countSessions(),
      listNodes(handler.store),
    ]);
    return { at: Date.now(), sessions, nodes: nodes.length, messages };
  });

  v1.get('/feed', async (req) => {
    const { limit } = parse(
      z.object({ limit: z.coerce.number().int().min(1).max(handlerDefaults.feedKeep).optional() }),
      req.query,
    );
    return { items: await handler.store.outbox.readFeed(limit ?? 50) };
  });
}
