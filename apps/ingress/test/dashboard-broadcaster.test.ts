import { describe, expect, it } from 'vitest';
import { SnapshotBroadcaster, type DashboardUpdate } from '../src/dashboard/broadcaster.ts';
import type { DashboardSnapshot } from '../src/dashboard/snapshot.ts';

const snapshot = (at: number) => ({ at }) as DashboardSnapshot;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the dashboard broadcaster and an unreachable Redis', () => {
  it('a failed snapshot is told as unavailable (since the last good one), and the next good one ends it', async () => {
    const answers: (() => Promise<DashboardSnapshot>)[] = [
      async () => snapshot(1000),
      async () => Promise.reject(new Error('connect ECONNREFUSED')),
      async () => Promise.reject(new Error('connect ECONNREFUSED')),
    ];
    let n = 0;
    const b = new SnapshotBroadcaster(() => (answers[n++] ?? (async () => snapshot(2000)))(), 20, () => undefined);
    const seen: DashboardUpdate[] = [];
    const stop = b.subscribe((u) => seen.push(u));
    await sleep(150);
    stop();
    expect(seen.slice(0, 4)).toEqual([
      { snapshot: snapshot(1000) },
      { unavailable: { since: 1000, reason: 'connect ECONNREFUSED' } },
      { unavailable: { since: 1000, reason: 'connect ECONNREFUSED' } },
      { snapshot: snapshot(2000) },
    ]);
  });

  it('a snapshot that does not come (commands queued while the connection reconnects) is unavailable after a while, and polls do not pile up', async () => {
    let calls = 0;
    let release: (s: DashboardSnapshot) => void = () => undefined;
    const b = new SnapshotBroadcaster(
      () => {
        calls++;
        return new Promise<DashboardSnapshot>((resolve) => (release = resolve));
      },
      10,
      () => undefined,
      100,
    );
    const seen: DashboardUpdate[] = [];
    const stop = b.subscribe((u) => seen.push(u));
    await sleep(60);
    expect(seen).toEqual([]);
    await sleep(120);
    expect(seen).toHaveLength(1);
    expect((seen[0] as { unavailable: { reason: string } }).unavailable.reason).toMatch(/not answered/);
    expect(calls).toBe(1);
    release(snapshot(5));
    await sleep(5);
    expect(seen[1]).toEqual({ snapshot: snapshot(5) });
    stop();
  });
});
