/**
 * `gearbun dead list|show|retry|purge --dead-letter FILE`: the jobs a pool's workers gave up on
 * (`gearbun worker --dead-letter FILE`), to inspect, submit again as background jobs, or delete.
 */
import { existsSync } from "node:fs";
import { Client } from "../client/client.ts";
import type { ServersInput } from "../connection/servers.ts";
import { type DeadLetterRow, DeadLetterStore } from "../pool/dead-letter.ts";
import { type Command, type Flags, flagLine, SERVERS_FLAG, str, UsageError } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";
import { loadConfigOrUsage } from "./pool-config.ts";

const ACTIONS = ["list", "show", "retry", "purge"];

export const dead: Command = {
  takesArguments: true,
  usage: `Usage: gearbun dead list|show|retry|purge [ID…] --dead-letter FILE|--config FILE [options]

The jobs that failed for good in workers started with --dead-letter FILE (or its config file).
  list                 newest first: id, function, unique, outcome, attempts, time, error
  show ID…             every field and the payload
  retry ID…|--all      submit again as background jobs (same function, unique, payload), then delete
  purge ID…|--all      delete
${flagLine("--dead-letter FILE", "the SQLite file the workers write")}
${flagLine("--config FILE", "the pool's config file: its dead-letter and servers (flags override)")}
${flagLine("--function F", "only this function's jobs (list, retry --all, purge --all)")}
${flagLine("--limit N", "list at most N jobs")}
${flagLine("--all", "retry or purge every job (of --function F)")}
${flagLine("--keep", "retry: keep the rows (their resubmitted count goes up)")}
${SERVERS_FLAG}
${CLIENT_SSL_USAGE}`,
  options: {
    "dead-letter": { type: "string" },
    config: { type: "string" },
    function: { type: "string" },
    limit: { type: "string" },
    all: { type: "boolean" },
    keep: { type: "boolean" },
    servers: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values, positionals) {
    const [action, ...rest] = positionals;
    if (action === undefined || !ACTIONS.includes(action)) {
      throw new UsageError(`dead needs one of ${ACTIONS.join(", ")}${action === undefined ? "" : `, got "${action}"`}`);
    }
    const config = str(values.config);
    const pool = config === undefined ? {} : loadConfigOrUsage(config);
    const file = str(values["dead-letter"]) ?? pool.deadLetter;
    if (file === undefined) {
      throw new UsageError(
        config === undefined ? "--dead-letter FILE (or --config FILE) is required" : `${config} sets no dead-letter`,
      );
    }
    const servers = str(values.servers) ?? pool.servers;
    if (!existsSync(file)) throw new UsageError(`${file}: no such dead-letter file`);
    using store = new DeadLetterStore(file);
    const fn = str(values.function);
    switch (action) {
      case "list":
        printTable(store.list({ function: fn, limit: limitFlag(values) }));
        return 0;
      case "show":
        for (const row of rowsById(store, ids(rest, "show"))) printRow(row);
        return 0;
      case "retry":
        return await retry(store, values, servers, selection(store, rest, values, fn, "retry"));
      default: {
        const rows = selection(store, rest, values, fn, "purge");
        console.log(`purged ${store.purge(rows.map((r) => r.id))}`);
        return 0;
      }
    }
  },
};

function limitFlag(values: Flags): number | undefined {
  const raw = str(values.limit);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be an integer >= 1, got "${raw}"`);
  return n;
}

function ids(args: string[], action: string): number[] {
  if (args.length === 0) throw new UsageError(`dead ${action} needs job ids (see gearbun dead list)`);
  return args.map((a) => {
    const n = Number(a);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`"${a}" is not a dead-letter id`);
    return n;
  });
}

function rowsById(store: DeadLetterStore, list: number[]): DeadLetterRow[] {
  return list.map((id) => {
    const row = store.get(id);
    if (row === null) throw new UsageError(`no dead-letter job ${id} in ${store.file}`);
    return row;
  });
}

/** The ids given, or with --all every job (of --function). */
function selection(
  store: DeadLetterStore,
  args: string[],
  values: Flags,
  fn: string | undefined,
  action: string,
): DeadLetterRow[] {
  if (values.all === true) {
    if (args.length > 0) throw new UsageError(`dead ${action}: give ids or --all, not both`);
    return store.list({ function: fn });
  }
  return rowsById(store, ids(args, action));
}

async function retry(
  store: DeadLetterStore,
  values: Flags,
  servers: ServersInput | undefined,
  rows: DeadLetterRow[],
): Promise<number> {
  const client = new Client({ servers, tls: clientTlsFlags(values) });
  try {
    for (const row of rows) {
      const handle = await client.submitBackground(row.function, row.payload, {
        unique: row.unique === "" ? undefined : row.unique,
      });
      if (values.keep === true) store.markResubmitted(row.id);
      else store.purge([row.id]);
      console.log(`${row.id} ${row.function} resubmitted as ${handle}`);
    }
  } finally {
    await client.close();
  }
  return 0;
}

const when = (ms: number): string => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

function printTable(rows: DeadLetterRow[]): void {
  const table = [["ID", "FUNCTION", "UNIQUE", "OUTCOME", "ATTEMPTS", "FAILED (UTC)", "ERROR"]].concat(
    rows.map((r) => [
      String(r.id),
      r.function,
      r.unique === "" ? "-" : r.unique,
      r.outcome,
      String(r.attempts),
      when(r.failedAt),
      r.error.split("\n")[0]!,
    ]),
  );
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table)
    console.log(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "));
}

function printRow(r: DeadLetterRow): void {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(r.payload);
  } catch {
    text = `(binary, base64) ${Buffer.from(r.payload).toString("base64")}`;
  }
  console.log(
    [
      `id:          ${r.id}`,
      `function:    ${r.function}`,
      `unique:      ${r.unique}`,
      `handle:      ${r.handle} on ${r.server}`,
      `outcome:     ${r.outcome} after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}`,
      `error:       ${r.error}`,
      `started:     ${when(r.startedAt)} UTC`,
      `failed:      ${when(r.failedAt)} UTC`,
      `resubmitted: ${r.resubmitted}`,
      `payload:     ${text}`,
    ].join("\n"),
  );
}
