import type { TestProject } from 'vitest/node';
import { startLocalCluster } from '../../scripts/lib/local-cluster.ts';

/**
 * The cluster project's Redis: a local Redis Cluster (3 primaries, a replica each) started for the
 * run, whose seeds its tests get through `inject('redisClusterNodes')` (test/support/redis.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startLocalCluster();
  project.provide('redisClusterNodes', cluster.nodes.join(','));
  return () => cluster.close();
}
