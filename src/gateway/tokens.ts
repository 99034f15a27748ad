/**
 * Bearer tokens: parsed from the token-file format, checked in constant time, swapped whole on a
 * reload.
 *
 *   # one token per line, then optionally the functions it may run (comma-separated; `*` or
 *   # nothing: all; `prefix*`: every function starting with prefix)
 *   3f9a1c0d5e7b2a4968f1d0c3b5a7e9f1  resize,thumbnail
 *   0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f  report_*
 *
 * A presented token is compared with every configured one, always all of them, through SHA-256
 * digests of equal length with `timingSafeEqual`: how long a check takes does not tell how much
 * of a guess was right, nor which line it matched.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** Fewer characters than this is a password, not a token. */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenEntry {
  readonly digest: Buffer;
  /** null: every function. */
  readonly functions: readonly string[] | null;
}

const digest = (token: string): Buffer => createHash("sha256").update(token).digest();

/** Parses token-file text; `source` names the file or option in errors ("tokens.txt:3: …"). */
export function parseTokens(text: string, source: string, option: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const [token, list, ...extra] = line.split(/\s+/);
    const where = `${source}:${i + 1}`;
    if (extra.length > 0) {
      throw new ConfigError(option, `${where}: expected "TOKEN [FUNCTION,...]", got ${extra.length + 2} fields`);
    }
    if (token!.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token!)) {
      throw new ConfigError(option, `${where}: a token is at least ${MIN_TOKEN_LENGTH} printable ASCII characters`);
    }
    let functions: string[] | null = null;
    if (list !== undefined && list !== "*") {
      functions = list.split(",");
      if (functions.some((f) => f === "")) throw new ConfigError(option, `${where}: empty function name in "${list}"`);
    }
    entries.push({ digest: digest(token!), functions });
  }
  return entries;
}

/** Reads the configured sources: `tokens` text, then `tokenFile`. */
export function loadTokens(sources: { tokens?: string | undefined; tokenFile?: string | undefined }): TokenEntry[] {
  const entries: TokenEntry[] = [];
  if (sources.tokens !== undefined) entries.push(...parseTokens(sources.tokens, "tokens", "tokens"));
  if (sources.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.tokenFile, "utf8");
    } catch (error) {
      throw new ConfigError("tokenFile", `cannot read ${sources.tokenFile}: ${(error as Error).message}`);
    }
    entries.push(...parseTokens(text, sources.tokenFile, "tokenFile"));
  }
  return entries;
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | null): string | null {
  if (header === null) return null;
  const m = /^Bearer[ ]+([\x21-\x7e]+)\s*$/i.exec(header);
  return m === null ? null : m[1]!;
}

/** The entry whose token equals `token`, comparing against every entry. */
export function matchToken(entries: readonly TokenEntry[], token: string): TokenEntry | null {
  const d = digest(token);
  let found: TokenEntry | null = null;
  for (const entry of entries) {
    // No early exit: every entry costs the same whether or not an earlier one matched.
    if (timingSafeEqual(entry.digest, d) && found === null) found = entry;
  }
  return found;
}

/** Whether `entry` may run `fn`. */
export function allows(entry: TokenEntry, fn: string): boolean {
  if (entry.functions === null) return true;
  for (const f of entry.functions) {
    if (f === fn || (f.endsWith("*") && fn.startsWith(f.slice(0, -1)))) return true;
  }
  return false;
}
