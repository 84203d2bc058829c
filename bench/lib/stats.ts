import * as hdr from 'hdr-histogram-js';

export interface Percentiles {
  count: number;
  /** The mean, to 0.01 ms: finer than the percentiles, which are whole milliseconds when the values are. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Milliseconds into an HDR histogram (1 ms to 1 h, 3 significant digits): p50/p95/p99/max, and their mean. */
export function percentiles(valuesMs: readonly number[]): Percentiles {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  try {
    for (const v of valuesMs) h.recordValue(Math.min(3_600_000, Math.max(1, Math.round(v))));
    return {
      count: valuesMs.length,
      mean: valuesMs.length > 0 ? round(valuesMs.reduce((a, b) => a + b, 0) / valuesMs.length) : 0,
      p50: h.getValueAtPercentile(50),
      p95: h.getValueAtPercentile(95),
      p99: h.getValueAtPercentile(99),
      max: h.maxValue,
    };
  } finally {
    h.destroy();
  }
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
