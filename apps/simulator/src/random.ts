/** A source of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast and good enough to make failure outcomes and faults repeatable from a seed. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Independent streams for each use, so that (say) turning on an error-rate fault does not change
 * which messages a fail rate picks. Without a seed, Math.random.
 */
export function randomStream(seed: number | undefined, stream: number): Random {
  return seed === undefined ? Math.random : seededRandom((seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0);
}
