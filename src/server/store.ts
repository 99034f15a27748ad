/**
 * Durable background jobs in SQLite (bun:sqlite), like gearmand's `-q libsqlite3` queue.
 *
 * A background job is written before its JOB_CREATED is sent and removed only when it ends for
 * good (WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION, retries exhausted, `cancel job`). WAL with
 * synchronous=NORMAL: a committed row survives the server process being killed (SIGKILL), not
 * a power cut. A job that was running when the server died runs again after the restart.
 */
import { Database, type Statement } from "bun:sqlite";
import type { Priority } from "./records.ts";

export interface StoredJob {
  readonly handle: string;
  readonly fn: string;
  readonly unique: string;
  readonly priority: Priority;
  readonly reducer: string | null;
  /** Run at, ms since epoch; 0: now. */
  readonly when: number;
  readonly data: Uint8Array;
}

interface Row {
  handle: string;
  fn: string;
  uniq: string;
  priority: number;
  reducer: string | null;
  run_at: number;
  data: Uint8Array;
}

export class JobStore {
  private readonly db: Database;
  private readonly insert: Statement;
  private readonly delete: Statement;

  constructor(readonly path: string) {
    this.db = new Database(path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    this.db.run(
      `CREATE TABLE IF NOT EXISTS gearbun_jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        handle TEXT NOT NULL UNIQUE,
        fn TEXT NOT NULL,
        uniq TEXT NOT NULL,
        priority INTEGER NOT NULL,
        reducer TEXT,
        run_at INTEGER NOT NULL,
        data BLOB NOT NULL
      )`,
    );
    this.insert = this.db.prepare(
      "INSERT OR REPLACE INTO gearbun_jobs (handle, fn, uniq, priority, reducer, run_at, data) VALUES ($handle, $fn, $uniq, $priority, $reducer, $run_at, $data)",
    );
    this.delete = this.db.prepare("DELETE FROM gearbun_jobs WHERE handle = $handle");
  }

  /** Every stored job, oldest first. */
  load(): StoredJob[] {
    const rows = this.db
      .query("SELECT handle, fn, uniq, priority, reducer, run_at, data FROM gearbun_jobs ORDER BY seq")
      .all() as Row[];
    return rows.map((r) => ({
      handle: r.handle,
      fn: r.fn,
      unique: r.uniq,
      priority: (r.priority === 0 || r.priority === 2 ? r.priority : 1) as Priority,
      reducer: r.reducer,
      when: r.run_at,
      data: r.data instanceof Uint8Array ? r.data : new Uint8Array(0),
    }));
  }

  /** Writes a job (committed when this returns). */
  add(job: StoredJob): void {
    this.insert.run({
      handle: job.handle,
      fn: job.fn,
      uniq: job.unique,
      priority: job.priority,
      reducer: job.reducer,
      run_at: job.when,
      data: job.data,
    });
  }

  remove(handle: string): void {
    this.delete.run({ handle });
  }

  close(): void {
    this.db.close(false);
  }
}
