/**
 * What every subcommand shares: its shape, flag helpers, and the usage error that the
 * dispatcher prints as one line with exit code 2.
 */
import type { ParseArgsConfig } from "node:util";
import { CONNECTION_DEFAULTS } from "../options.ts";

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Runs the command; resolves to the process exit code. */
  run(values: Flags, positionals: string[]): Promise<number>;
  /** Exit code of a usage error (a Nagios plugin answers UNKNOWN, 3). @default 2 */
  usageExitCode?: number;
  /** How a usage error reads, on stdout (a Nagios plugin's status line). @default "gearbun NAME: …" on stderr */
  usageLine?: (message: string) => string;
  /** It takes arguments besides its flags (else an argument is a usage error). @default false */
  takesArguments?: true;
}

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The integer flag `--name`, at least `min`, or `fallback` when it is absent. */
export function intFlag(values: Flags, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${String(raw)}"`);
  return n;
}

/** The flag's value when it is a string. */
export const str = (v: Flags[string]): string | undefined => (typeof v === "string" ? v : undefined);

export async function readStdin(): Promise<Uint8Array> {
  return new Uint8Array(await Bun.stdin.arrayBuffer());
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

/** One line of a command's usage: flag, meaning, and its default padded to one column. */
export function flagLine(flag: string, meaning: string, fallback?: string | number): string {
  const text = `  ${flag.padEnd(19)}  ${meaning}`;
  if (fallback === undefined) return text;
  // The default in its own column; a meaning too long for it keeps two spaces before it.
  return `${text.length <= 70 ? text.padEnd(72) : `${text}  `}default ${fallback}`;
}

/** Words joined by spaces into lines of at most `width` characters, each starting with `indent`. */
export function wrapWords(words: readonly string[], width: number, indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of words) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.length > indent.length ? ` ${word}` : word;
  }
  if (line.length > indent.length) lines.push(line);
  return lines.join("\n");
}

/** The help line of `--servers`, shared by every command that connects. */
export const SERVERS_FLAG = flagLine(
  "--servers LIST",
  "host:port,host:port",
  `$GEARMAN_SERVERS or ${CONNECTION_DEFAULTS.servers}`,
);
