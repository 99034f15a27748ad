/**
 * Reconnect as a small pure policy: given the attempt number (1 for the first retry), return
 * the delay in milliseconds before dialling again, or null to give up. Users may pass their own.
 */
export type ReconnectPolicy = (attempt: number) => number | null;

export interface BackoffOptions {
  /** Delay before the first retry. @default 100 */
  initialDelay?: number;
  /** Largest delay. @default 5000 */
  maxDelay?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Fraction of the delay drawn at random, ± (0 to 1). @default 0.2 */
  jitter?: number;
  /** Give up after this many attempts. @default Infinity */
  maxAttempts?: number;
  /** Random source in [0, 1), injectable for tests. @default Math.random */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = {
  initialDelay: 100,
  maxDelay: 5000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
} as const;

/** Exponential backoff with jitter and a cap. */
export function exponentialBackoff(options: BackoffOptions = {}): ReconnectPolicy {
  const initial = options.initialDelay ?? BACKOFF_DEFAULTS.initialDelay;
  const max = options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay;
  const factor = options.factor ?? BACKOFF_DEFAULTS.factor;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? BACKOFF_DEFAULTS.jitter));
  const maxAttempts = options.maxAttempts ?? BACKOFF_DEFAULTS.maxAttempts;
  const random = options.random ?? Math.random;
  return (attempt: number): number | null => {
    if (attempt > maxAttempts) return null;
    const base = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
    const spread = base * jitter * (2 * random() - 1);
    return Math.max(0, Math.round(Math.min(max, base + spread)));
  };
}

/** Never reconnect. */
export const noReconnect: ReconnectPolicy = () => null;
