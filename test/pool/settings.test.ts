/**
 * Pool - settings: one table (src/options/pool-settings.ts) is the only place a pool setting is
 * written. Every row appears in each thing derived from it — the config file's keys, the flags
 * of `gearbun worker` and its usage text, the defaults, the resolver, the README's table, the
 * child's spec — and nothing appears there that the table does not have.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { worker } from "../../src/cli/worker.ts";
import { CLIENT_SSL_OPTIONS } from "../../src/cli/client-tls.ts";
import {
  FUNCTION_SETTINGS,
  POOL_DEFAULTS,
  POOL_SETTINGS,
  type PoolSetting,
  poolSettingsMarkdown,
} from "../../src/options/pool-settings.ts";
import { resolvePoolOptions } from "../../src/options.ts";
import { CONFIG_KEYS, FUNCTION_KEYS, parseConfig } from "../../src/pool/config.ts";
import { childSpec, SlotTable } from "../../src/pool/slot.ts";
import { HANDLERS } from "./helpers.ts";

const rows = Object.entries(POOL_SETTINGS) as [string, PoolSetting][];
const keyed = rows.filter(([, s]) => s.key !== null);
const flagged = keyed.filter(([, s]) => s.flag !== false);

describe("pool - settings", () => {
  test("pool - settings: the config file's keys are the table's, with the same option and kind", () => {
    expect(Object.keys(CONFIG_KEYS).sort()).toEqual(keyed.map(([, s]) => s.key!).sort());
    for (const [name, s] of keyed) expect(CONFIG_KEYS[s.key!]).toEqual({ kind: s.kind, option: name as never });
    expect(Object.keys(FUNCTION_KEYS).sort()).toEqual(Object.keys(FUNCTION_SETTINGS).sort());
  });

  test("pool - settings: gearbun worker's flags and usage lines are the table's (plus --config, --metrics, --check, TLS)", () => {
    const own = new Set(["config", "metrics", "check", ...Object.keys(CLIENT_SSL_OPTIONS)]);
    const flags = Object.keys(worker.options).filter((f) => !own.has(f));
    expect(flags.sort()).toEqual(flagged.map(([, s]) => s.key!).sort());
    for (const [, s] of flagged) {
      expect(worker.options[s.key!]!.type).toBe(s.kind === "bool" ? "boolean" : "string");
      const line = worker.usage
        .split("\n")
        .find((l) => l.trimStart().startsWith(`--${s.key} `) || l.trim() === `--${s.key}`);
      expect(line).toBeDefined();
      expect(line!).toContain(s.doc);
    }
  });

  test("pool - settings: POOL_DEFAULTS and the resolver give each row's default, in milliseconds for times", () => {
    const resolved = resolvePoolOptions({ handlers: HANDLERS }) as unknown as Record<string, unknown>;
    for (const [name, s] of rows) {
      if (s.default === null) {
        expect(Object.hasOwn(POOL_DEFAULTS, name)).toBe(false);
        continue;
      }
      expect((POOL_DEFAULTS as Record<string, unknown>)[name]).toBe(s.default);
      if (name === "processes" || name === "concurrency") continue; // resolved into groups
      expect(resolved[name]).toBe(s.default);
    }
    expect(resolved.groups).toEqual([{ name: "general", processes: 1, concurrency: 1, only: null, exclude: [] }]);
  });

  test("pool - settings: a time is typed in seconds in the file and on the command line, fractions allowed", () => {
    const seconds = keyed.filter(([, s]) => s.kind === "seconds");
    expect(seconds.length).toBeGreaterThan(0);
    const text = seconds.map(([, s]) => `${s.key} = 1.5`).join("\n");
    const options = parseConfig(
      `${text}\n[functions.f]\ntimeout = 2.5\nbackoff = { initial = 0.5, max = 4 }\n`,
      "x.toml",
    ) as Record<string, unknown>;
    for (const [name] of seconds) expect(options[name]).toBe(1500);
    expect(options.functions).toEqual({ f: { timeout: 2500, backoff: { initial: 500, max: 4000 } } });
    for (const [, s] of rows) {
      if (s.key !== null) expect(s.unit).not.toBe("milliseconds");
    }
  });

  test("pool - settings: the README's table is the one the table makes", async () => {
    const readme = await Bun.file(join(import.meta.dir, "../../README.md")).text();
    const m = /<!-- pool-settings -->\n([\s\S]*?)\n<!-- \/pool-settings -->/.exec(readme);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(poolSettingsMarkdown());
    for (const [name, s] of rows) expect(m![1]).toContain(s.key === null ? `\`${name}\` option` : `\`${s.key}\``);
  });

  test("pool - settings: each child receives exactly the rows marked for it, plus what its slot decides", () => {
    const options = resolvePoolOptions({ handlers: HANDLERS });
    const slot = new SlotTable(options).all[0]!;
    const spec = Object.keys(childSpec(options, slot)).sort();
    const perSlot = ["index", "group", "only", "exclude", "functions", "tls"];
    const child = rows.filter(([, s]) => s.child).map(([name]) => name);
    expect(spec).toEqual([...child, ...perSlot].sort());
  });
});
