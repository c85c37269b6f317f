/**
 * A small deterministic PRNG (mulberry32). Its whole state is one uint32, so it can be saved in
 * the paper account snapshot and a restarted walk continues exactly where it stopped.
 * Not for cryptography.
 */
export class SeededRandom {
  private value: number;

  constructor(state: number) {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff)
      throw new RangeError(`PRNG state must be a uint32, got ${state}`);
    this.value = state;
  }

  /** Seeds from PAPER_SEED and the symbol, so each symbol walks its own path. */
  static forSymbol(seed: number, symbol: string): SeededRandom {
    return new SeededRandom(seedFor(seed, symbol));
  }

  get state(): number {
    return this.value;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.value = (this.value + 0x6d2b79f5) >>> 0;
    let t = this.value;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box-Muller; the second value is dropped to keep the state a single uint32). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1], so the log is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** FNV-1a over "<seed>:<symbol>": a uint32 that differs per symbol and per seed. */
export function seedFor(seed: number, symbol: string): number {
  const text = `${seed}:${symbol}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The generator as a plain `() => number` in [0, 1), for callers that only draw numbers. */
export function seededRandom(seed: number): () => number {
  const generator = new SeededRandom(seed >>> 0);
  return () => generator.next();
}
