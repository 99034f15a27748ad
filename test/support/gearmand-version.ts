/**
 * Which gearmand the suite runs against, so a test asserts that version's documented behaviour.
 * gearmand 2.0 changed some defaults on purpose (see README "Development"); the tests that touch
 * them branch on `gearmandBehaviour()`, they are never skipped.
 *
 * The version is read, in this order, from:
 * 1. the admin `version` reply of a running gearmand;
 * 2. `gearmand --version`;
 * 3. the build-info file scripts/build-gearmand.sh writes next to the binary it built
 *    (PREFIX/sbin/gearmand → PREFIX/build-info), because gearmand takes its version from
 *    `git describe` at configure time and a build from a tree without .git reports "".
 * The first that names a version number wins; none is an error naming the binary.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { adminLine, gearmandPath } from "./gearmand-process.ts";

export interface GearmandVersion {
  /** As reported, e.g. "1.1.20+ds" or "2.0.0". */
  readonly text: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Where it was read. */
  readonly from: "admin version" | "gearmand --version" | "build-info";
}

/** The documented behaviours the suite knows: gearmand 1.1.x (Debian 12's 1.1.20) and 2.0.x. */
export type GearmandBehaviour = "1.1" | "2.0";

/** "1.1.20+ds" → 1, 1, 20; "2.0.0-3-gabc" → 2, 0, 0; a bare commit id or "" → null. */
export function parseGearmandVersion(text: string): { major: number; minor: number; patch: number } | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (m === null) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** The version `gearmand --version` names ("" when the build has none: "gearmand  - URL"). */
export function reportedVersion(binary: string | null = gearmandPath): string {
  if (binary === null) return "";
  const r = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe" });
  const line = `${r.stdout.toString()}\n${r.stderr.toString()}`.split("\n").find((l) => l.trim() !== "") ?? "";
  const word = line.trim().split(/\s+/)[1] ?? "";
  return word === "-" ? "" : word;
}

/** `version=` of the build-info file next to a binary built by scripts/build-gearmand.sh, or "". */
export function recordedVersion(binary: string | null = gearmandPath): string {
  if (binary === null) return "";
  const file = join(dirname(dirname(binary)), "build-info");
  if (!existsSync(file)) return "";
  return /^version=(.*)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim() ?? "";
}

let cached: GearmandVersion | null = null;

/** The version of the gearmand listening on `port` (every gearmand of one run is the same binary). */
export async function gearmandVersion(port: number): Promise<GearmandVersion> {
  if (cached !== null) return cached;
  const reply = await adminLine(port, "version", 2000);
  if (reply === null || !reply.startsWith("OK")) {
    throw new Error(`gearmand on 127.0.0.1:${port} did not answer the admin version command (got ${reply})`);
  }
  const candidates: [string, GearmandVersion["from"]][] = [
    [reply.slice(2).trim(), "admin version"],
    [reportedVersion(), "gearmand --version"],
    [recordedVersion(), "build-info"],
  ];
  for (const [text, from] of candidates) {
    const v = parseGearmandVersion(text);
    if (v !== null) {
      cached = { text, ...v, from };
      return cached;
    }
  }
  throw new Error(
    `cannot tell which version ${gearmandPath} is: admin version answered ${JSON.stringify(reply)}, ` +
      `gearmand --version names none, and no build-info is next to it (build it with scripts/build-gearmand.sh)`,
  );
}

/** The documented behaviour a version has; versions the suite does not know are an error. */
export function behaviourOf(v: GearmandVersion): GearmandBehaviour {
  if (v.major === 1 && v.minor === 1) return "1.1";
  if (v.major === 2) return "2.0";
  throw new Error(`gearmand ${v.text} (from ${v.from}): the suite knows the behaviour of 1.1.x and 2.0.x only`);
}

/** `behaviourOf(await gearmandVersion(port))`. */
export async function gearmandBehaviour(port: number): Promise<GearmandBehaviour> {
  return behaviourOf(await gearmandVersion(port));
}
