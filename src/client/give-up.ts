/**
 * A caller that gives up leaves nothing behind (docs/semantics.md, "The caller gives up"): a
 * foreground job whose `timeout` passed after the server created it is cancelled on that server
 * (admin `cancel job`, best effort, on a connection of its own), since while the client stays
 * connected the server would still run it for nobody. A job with a unique key is left alone:
 * other callers may share it.
 */
import { Admin } from "../admin/admin.ts";
import type { ConnectionConfig } from "../connection/connection.ts";
import type { ServerAddress } from "../connection/servers.ts";

export class GiveUps {
  /** Cancels in flight; `settled()` waits for them (the client's close). */
  private readonly pending = new Set<Promise<void>>();

  /** Cancels job `handle` on `server` unless it was submitted with a unique key. */
  cancel(server: ServerAddress, connection: ConnectionConfig, handle: string, unique: string): void {
    if (unique !== "") return;
    const admin = new Admin(
      undefined,
      {},
      {
        server,
        connection: { ...connection, allowText: true },
        commandTimeout: connection.connectTimeout,
      },
    );
    const done = admin
      .cancelJob(handle)
      .catch(() => {})
      .then(() => admin.close());
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Resolves once every cancel sent so far has been answered or given up. */
  settled(): Promise<unknown> {
    return Promise.all(this.pending);
  }
}
