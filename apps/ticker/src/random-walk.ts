/**
 * Geometric Brownian motion, the usual model of a stock price: each step multiplies the price
 * by exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z) with Z standard normal. Sigma is the annual
 * volatility; dt is the step in years, scaled up so a demo moves visibly.
 */
export interface WalkOptions {
  /** Annualised volatility, e.g. 0.3. */
  sigma: number;
  /** Annualised drift. */
  mu: number;
  /** One step in years. */
  dt: number;
}

export const DEMO_WALK: WalkOptions = { sigma: 0.35, mu: 0, dt: 1 / 2520 };

/** A standard normal sample (Box-Muller). `random` is injectable for tests. */
export function gaussian(random: () => number = Math.random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function nextPrice(price: number, opts: WalkOptions = DEMO_WALK, random: () => number = Math.random): number {
  const { sigma, mu, dt } = opts;
  const next = price * Math.exp((mu - (sigma * sigma) / 2) * dt + sigma * Math.sqrt(dt) * gaussian(random));
  // Cents are what a subscriber sees; never let a price reach zero.
  return Math.max(0.01, Math.round(next * 100) / 100);
}

const KNOWN: Record<string, number> = { MSFT: 412.35, GOOGL: 171.2, AAPL: 228.5, AMZN: 186.4, NVDA: 131.6 };

/** Where a symbol starts when the cache has no price for it yet. */
export function startingPrice(symbol: string): number {
  if (KNOWN[symbol] !== undefined) return KNOWN[symbol];
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) % 1000;
  return 20 + h / 2;
}
