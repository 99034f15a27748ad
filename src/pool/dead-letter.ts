/**
 * The dead-letter store: jobs that failed for good (after their retries), kept in a SQLite file
 * so an operator can look at them and submit them again. Several worker processes write to the
 * same file: WAL mode and a busy timeout let them take turns.
 */
import { Database } from "bun:sqlite";
import { ConfigError } from "../errors.ts";
import type { FailedJob } from "../worker/job.ts";

/** How long a writer waits for another process's write lock. */
const BUSY_TIMEOUT_MS = 5000;

/** A stored failed job: what the worker reported, with its row id and how often it was resubmitted. */
export interface DeadLetterRow extends FailedJob {
  readonly id: number;
  /** Times `gearbun dead retry` submitted it again. */
  readonly resubmitted: number;
}

interface RawRow {
  id: number;
  function: string;
  unique_id: string;
  handle: string;
  server: string;
  outcome: string;
  error: string;
  attempts: number;
  started_at: number;
  failed_at: number;
  resubmitted: number;
  payload: Uint8Array;
}

const toRow = (r: RawRow): DeadLetterRow => ({
  id: r.id,
  function: r.function,
  unique: r.unique_id,
  handle: r.handle,
  server: r.server,
  outcome: r.outcome,
  error: r.error,
  attempts: r.attempts,
  startedAt: r.started_at,
  failedAt: r.failed_at,
  resubmitted: r.resubmitted,
  payload: new Uint8Array(r.payload),
});

export interface DeadLetterFilter {
  /** Only this function's jobs. */
  function?: string;
  /** At most this many, newest first. @default all */
  limit?: number;
}

export class DeadLetterStore {
  readonly file: string;
  private readonly db: Database;

  constructor(file: string) {
    this.file = file;
    try {
      this.db = new Database(file, { create: true });
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.db.exec("PRAGMA journal_mode = WAL");
      this.db.exec(`CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        function TEXT NOT NULL,
        unique_id TEXT NOT NULL,
        handle TEXT NOT NULL,
        server TEXT NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        resubmitted INTEGER NOT NULL DEFAULT 0,
        payload BLOB NOT NULL
      )`);
    } catch (error) {
      throw new ConfigError("deadLetter", `cannot open ${file}: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** Records a failed job; returns its id. */
  add(job: FailedJob): number {
    const result = this.db
      .query(
        `INSERT INTO dead_letters (function, unique_id, handle, server, outcome, error, attempts, started_at, failed_at, payload)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        job.function,
        job.unique,
        job.handle,
        job.server,
        job.outcome,
        job.error,
        job.attempts,
        job.startedAt,
        job.failedAt,
        job.payload,
      );
    return Number(result.lastInsertRowid);
  }

  list(filter: DeadLetterFilter = {}): DeadLetterRow[] {
    const where = filter.function === undefined ? "" : "WHERE function = $fn";
    const limit = filter.limit === undefined ? "" : `LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    const rows = this.db
      .query(`SELECT * FROM dead_letters ${where} ORDER BY id DESC ${limit}`)
      .all(filter.function === undefined ? {} : { $fn: filter.function }) as RawRow[];
    return rows.map(toRow);
  }

  get(id: number): DeadLetterRow | null {
    const row = this.db.query("SELECT * FROM dead_letters WHERE id = ?").get(id) as RawRow | null;
    return row === null ? null : toRow(row);
  }

  /** Counts a resubmission of `id`. */
  markResubmitted(id: number): void {
    this.db.query("UPDATE dead_letters SET resubmitted = resubmitted + 1 WHERE id = ?").run(id);
  }

  /** Deletes the given ids, or every row when `ids` is undefined; returns how many went. */
  purge(ids?: readonly number[]): number {
    if (ids === undefined) return this.db.query("DELETE FROM dead_letters").run().changes;
    let n = 0;
    const del = this.db.query("DELETE FROM dead_letters WHERE id = ?");
    this.db.transaction(() => {
      for (const id of ids) n += del.run(id).changes;
    })();
    return n;
  }

  close(): void {
    this.db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
