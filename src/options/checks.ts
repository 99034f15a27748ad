/**
 * The value checks every resolver uses: each names the option to change in its ConfigError.
 */
import { ConfigError } from "../errors.ts";

/** Checks that `value` is a finite number ≥ min (or undefined); returns it or the default. */
export function numberOption(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  // Infinity is refused too: as a timer delay it would fire at once, the opposite of "never".
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new ConfigError(name, `must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Checks that `value` is a boolean (or undefined); returns it or the default. */
export function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ConfigError(name, `must be true or false, got ${String(value)}`);
  return value;
}

/**
 * Checks a name sent as a packet argument (function, unique key, reducer, handle): a string
 * without NUL, the argument separator; non-empty unless `allowEmpty`.
 */
export function nameOption(name: string, value: string, allowEmpty = false): string {
  if (typeof value !== "string" || (!allowEmpty && value === "") || value.includes("\0")) {
    throw new ConfigError(
      name,
      `must be a ${allowEmpty ? "" : "non-empty "}string without NUL, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Checks a SET_CLIENT_ID value, the same for clients and workers: non-empty, and without NUL or
 * white space, so the admin `workers` line ("fd ip id : functions") stays readable.
 */
export function clientIdOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "" || /[\0\s]/.test(value)) {
    throw new ConfigError("clientId", `must be a non-empty string without spaces or NUL, got ${JSON.stringify(value)}`);
  }
  return value;
}
