/**
 * The pool's TOML config file: the same names as the command-line flags (kebab-case, times in
 * seconds), plus one `[functions.NAME]` table per function. Every key is checked before anything
 * starts: an unknown key, a wrong type or a bad value is a ConfigError naming the file and key.
 *
 *   handlers = ["./handlers.ts"]
 *   servers = "10.0.0.1:4730,10.0.0.2:4730"
 *   processes = 4
 *   max-jobs = 1000
 *   [functions.resize]
 *   processes = 2      # dedicated children that register only "resize"
 *   concurrency = 1
 *   timeout = 30       # seconds, per attempt (the worker's own clock)
 *   retries = 3        # attempts after a failed one, then the dead-letter file
 *   backoff = { initial = 1, max = 60, factor = 2, jitter = 0.2 }   # seconds
 *
 * The keys are the settings table's (src/options/pool-settings.ts); every time is in seconds.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { type FunctionPoolOptions, type PoolOptions, resolvePoolOptions } from "../options.ts";
import {
  FUNCTION_SETTINGS,
  POOL_SETTINGS,
  type PoolSetting,
  type PoolSettingName,
  type SettingKind,
} from "../options/pool-settings.ts";

type Kind = SettingKind | "backoff";

interface Key {
  readonly kind: Kind;
  /** The PoolOptions field it sets. */
  readonly option: keyof PoolOptions;
}

/** Top-level keys: the settings table's keys (the flags of `gearbun worker`, without the dashes). */
export const CONFIG_KEYS: Readonly<Record<string, Key>> = Object.fromEntries(
  (Object.entries(POOL_SETTINGS) as [PoolSettingName, PoolSetting][])
    .filter(([, s]) => s.key !== null)
    .map(([option, s]) => [s.key, { kind: s.kind, option }]),
);

/** Keys of a `[functions.NAME]` table. */
export const FUNCTION_KEYS: Readonly<Record<string, { kind: Kind; option: keyof FunctionPoolOptions }>> =
  Object.fromEntries(
    Object.entries(FUNCTION_SETTINGS).map(([key, f]) => [
      key,
      { kind: f.kind, option: key as keyof FunctionPoolOptions },
    ]),
  );

const BACKOFF_KEYS = ["initial", "max", "factor", "jitter"];

/** The file's settings, as pool options (handler paths made absolute from the file's folder). */
export type ConfigFileOptions = Partial<PoolOptions>;

function typeError(kind: Kind, value: unknown): string | null {
  const ok = {
    int: typeof value === "number" && Number.isInteger(value),
    seconds: typeof value === "number",
    bool: typeof value === "boolean",
    string: typeof value === "string",
    strings: typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string")),
    processes: (typeof value === "number" && Number.isInteger(value)) || value === "auto",
    log: typeof value === "string",
    backoff: isTable(value) && Object.values(value).every((v) => typeof v === "number"),
  }[kind];
  if (ok) return null;
  const want = {
    int: "a whole number",
    seconds: "a number of seconds",
    bool: "true or false",
    string: "a string",
    strings: "a string or a list of strings",
    processes: 'a whole number or "auto"',
    log: 'one of "pretty", "json", "events", "off"',
    backoff: "a table of numbers { initial, max, factor, jitter }",
  }[kind];
  return `must be ${want}, got ${JSON.stringify(value)}`;
}

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and checks a config file's text; `file` names it in errors and anchors relative paths. */
export function parseConfig(text: string, file: string): ConfigFileOptions {
  const fail = (key: string, message: string): never => {
    throw new ConfigError(`${file}: ${key}`, message);
  };
  let data: unknown;
  try {
    data = Bun.TOML.parse(text);
  } catch (error) {
    throw new ConfigError(file, `not valid TOML: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
  }
  if (!isTable(data)) return fail("(top)", "must be a TOML table");
  const options: Record<string, unknown> = {};
  const keyOf = new Map<string, string>();
  for (const [key, value] of Object.entries(data)) {
    if (key === "functions") continue;
    const spec = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key] : undefined;
    if (spec === undefined) return fail(key, "unknown key");
    const problem = typeError(spec.kind, value);
    if (problem !== null) return fail(key, problem);
    options[spec.option] = spec.kind === "seconds" ? (value as number) * 1000 : value;
    keyOf.set(spec.option, key);
  }
  if (options.handlers !== undefined) {
    const base = dirname(resolve(file));
    const list = typeof options.handlers === "string" ? [options.handlers] : (options.handlers as string[]);
    options.handlers = list.map((h) => (isAbsolute(h) ? h : resolve(base, h)));
  }
  if (typeof options.deadLetter === "string" && options.deadLetter !== "" && !isAbsolute(options.deadLetter)) {
    options.deadLetter = resolve(dirname(resolve(file)), options.deadLetter);
  }
  if (data.functions !== undefined) {
    if (!isTable(data.functions)) return fail("functions", "must be a table of [functions.NAME] tables");
    const functions: Record<string, FunctionPoolOptions> = {};
    for (const [fn, table] of Object.entries(data.functions)) {
      if (!isTable(table)) return fail(`functions.${fn}`, "must be a table");
      const f: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(table)) {
        const spec = Object.hasOwn(FUNCTION_KEYS, key) ? FUNCTION_KEYS[key] : undefined;
        if (spec === undefined) return fail(`functions.${fn}.${key}`, "unknown key");
        const problem = typeError(spec.kind, value);
        if (problem !== null) return fail(`functions.${fn}.${key}`, problem);
        if (spec.kind === "backoff") {
          const unknown = Object.keys(value as object).find((k) => !BACKOFF_KEYS.includes(k));
          if (unknown !== undefined) return fail(`functions.${fn}.backoff.${unknown}`, "unknown key");
          // initial and max are typed in seconds, as every time in this file.
          const b = { ...(value as Record<string, number>) };
          for (const k of ["initial", "max"]) if (b[k] !== undefined) b[k] = Math.round(b[k] * 1000);
          f[spec.option] = b;
          continue;
        }
        f[spec.option] = spec.kind === "seconds" ? Math.round((value as number) * 1000) : value;
      }
      functions[fn] = f as FunctionPoolOptions;
    }
    options.functions = functions;
  }
  // Values: the pool's own resolver decides; its error is renamed to the file's key.
  try {
    resolvePoolOptions({ handlers: "(checked later)", ...(options as ConfigFileOptions) });
  } catch (error) {
    if (error instanceof ConfigError) {
      const key = keyOf.get(error.option) ?? error.option;
      const message = error.message.slice(error.option.length + 2);
      return fail(key, message);
    }
    throw error;
  }
  return options as ConfigFileOptions;
}

/** Reads and checks a config file. */
export function loadConfig(file: string): ConfigFileOptions {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, `cannot read: ${error instanceof Error ? error.message : error}`);
  }
  return parseConfig(text, file);
}
