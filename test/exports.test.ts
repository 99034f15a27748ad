/**
 * Exports - each entry point of the package exports exactly the names listed here. The public
 * surface is a promise to users: adding or removing a name is a one-line change to this list,
 * visible in review. Values are checked at run time (the module's keys) and, with types, in the
 * index's source (an index only re-exports, with every name written out).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };

const root = join(import.meta.dir, "..");

/** Each entry point's names; a type-only export is written `type Name`. Sorted. */
const SURFACE: Record<string, string[]> = {
  gearbun: [
    "Admin",
    "Client",
    "ConfigError",
    "ConnectionError",
    "ERROR_CODES",
    "GearmanError",
    "JobExceptionError",
    "JobFailedError",
    "JobFailure",
    "Pool",
    "PoolError",
    "ProtocolError",
    "ServerError",
    "Task",
    "TimeoutError",
    "VERSION",
    "Worker",
    "createGateway",
    "startPool",
    "startServer",
    "type AdminOptions",
    "type BackgroundOptions",
    "type BackoffOptions",
    "type ChildInfo",
    "type ClientOptions",
    "type ConnectionErrorCode",
    "type ConnectionOptions",
    "type EmbeddedServer",
    "type EmbeddedServerStats",
    "type FailedJob",
    "type FunctionPoolOptions",
    "type FunctionStats",
    "type Gateway",
    "type GatewayOptions",
    "type GearmanErrorCode",
    "type GearmanErrorOptions",
    "type GrabPacket",
    "type HandleSignalsOptions",
    "type Job",
    "type JobHandler",
    "type JobOutcome",
    "type JobRecord",
    "type JobResult",
    "type JobRow",
    "type JobStatus",
    "type LogSink",
    "type Payload",
    "type PoolErrorCode",
    "type PoolEventName",
    "type PoolEvents",
    "type PoolLogMode",
    "type PoolOptions",
    "type PoolStartOptions",
    "type PoolState",
    "type Priority",
    "type PriorityStatusRow",
    "type ProtocolErrorCode",
    "type ReconnectPolicy",
    "type RecycleReason",
    "type RegisterOptions",
    "type RetryBackoffOptions",
    "type ServerInfo",
    "type ServerOptions",
    "type ServerStats",
    "type ServerTlsOptions",
    "type ServersInput",
    "type StartReason",
    "type StatusRow",
    "type StopOptions",
    "type SubmitOptions",
    "type TaskEvent",
    "type TaskState",
    "type TlsOptions",
    "type UniqueStatus",
    "type WorkerEventEntry",
    "type WorkerEventName",
    "type WorkerEvents",
    "type WorkerJobErrorCode",
    "type WorkerOptions",
    "type WorkerRow",
    "type WorkerState",
    "type WorkerStats",
  ],
  "gearbun/protocol": [
    "CONSTANT_PACKETS",
    "Connection",
    "DEFAULT_MAX_PACKET_SIZE",
    "DEFAULT_PORT",
    "DEFAULT_SERVER",
    "HEADER_SIZE",
    "PACKETS",
    "PacketDecoder",
    "PacketType",
    "REQ_MAGIC",
    "RES_MAGIC",
    "encodeInto",
    "encodePacket",
    "encodeRequest",
    "encodeResponse",
    "encodedLength",
    "exponentialBackoff",
    "formatAddress",
    "noReconnect",
    "packetName",
    "parseAddress",
    "parseServers",
    "type Arg",
    "type ConnectionConfig",
    "type ConnectionEvent",
    "type ConnectionHandlers",
    "type ConnectionState",
    "type DecoderHandlers",
    "type DecoderOptions",
    "type Packet",
    "type PacketName",
    "type PacketSpec",
    "type ServerAddress",
  ],
  "gearbun/ops": [
    "CONTENT_TYPE",
    "CheckState",
    "DURATION_BUCKETS",
    "Exposition",
    "Histogram",
    "SERVER_VERSION",
    "TopView",
    "collectPoolMetrics",
    "evaluateCheck",
    "loadPoolConfig",
    "parsePoolConfig",
    "parseThresholds",
    "pollCluster",
    "pollServer",
    "scrapeCluster",
    "serveDashboard",
    "serveGateway",
    "servePoolMetrics",
    "serveServerMetrics",
    "serverExposition",
    "startExporter",
    "sumFunctions",
    "type CheckResult",
    "type CheckThresholds",
    "type DashboardOptions",
    "type EmbeddedServerMetrics",
    "type ExporterOptions",
    "type FunctionTotals",
    "type GatewayServeOptions",
    "type GatewayServer",
    "type Health",
    "type HttpEndpoint",
    "type JobProbe",
    "type Labels",
    "type PollOptions",
    "type Sample",
    "type ServerSnapshot",
  ],
  "gearbun/options": [
    "ADMIN_DEFAULTS",
    "BACKOFF_DEFAULTS",
    "CHECK_DEFAULTS",
    "CLIENT_DEFAULTS",
    "CONNECTION_DEFAULTS",
    "DASHBOARD_DEFAULTS",
    "EXPORTER_DEFAULTS",
    "GATEWAY_DEFAULTS",
    "GATEWAY_SERVE_DEFAULTS",
    "POLL_DEFAULTS",
    "POOL_DEFAULTS",
    "RETRY_DEFAULTS",
    "SERVER_DEFAULTS",
    "SUBMIT_DEFAULTS",
    "WORKER_DEFAULTS",
    "resolveAdminOptions",
    "resolveClientOptions",
    "resolveConnectionOptions",
    "resolveGatewayOptions",
    "resolveGatewayServeOptions",
    "resolvePollOptions",
    "resolvePoolOptions",
    "resolveRetryOptions",
    "resolveServerOptions",
    "resolveSubmitOptions",
    "resolveWorkerOptions",
    "type ResolvedGatewayOptions",
    "type ResolvedGatewayServeOptions",
    "type ResolvedPollOptions",
    "type ResolvedPoolOptions",
    "type ResolvedRetry",
    "type ServerFaults",
  ],
};

/** The names an index exports, from its source: `export { a, b as c } from` and `export type { … } from`. */
function exportedNames(file: string): string[] {
  const source = readFileSync(join(root, file), "utf8");
  expect(source).not.toMatch(/export\s+\*/); // every name written out
  const names: string[] = [];
  for (const m of source.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s+from\s+"[^"]+";/g)) {
    for (const item of m[2]!
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const inlineType = item.startsWith("type ");
      const name = item
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .at(-1)!;
      names.push(m[1] !== undefined || inlineType ? `type ${name}` : name);
    }
  }
  // Nothing else: the index only re-exports.
  const rest = source
    .replace(/export\s+(type\s+)?\{[^}]*\}\s+from\s+"[^"]+";/g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .trim();
  expect(rest).toBe("");
  return names.toSorted();
}

const sorted = (names: string[]): string[] => names.toSorted((a, b) => (a < b ? -1 : a > b ? 1 : 0));

for (const [entry, expected] of Object.entries(SURFACE)) {
  test(`exports - ${entry} exports exactly its listed names`, async () => {
    const subpath = entry === "gearbun" ? "." : `./${entry.slice("gearbun/".length)}`;
    const file = (pkg.exports as Record<string, string>)[subpath];
    if (file === undefined) throw new Error(`package.json has no export "${subpath}"`);
    expect(sorted(exportedNames(file))).toEqual(sorted(expected));
    // The values are what the module really exports, imported the way users write it.
    const mod: object = await import(entry);
    expect(sorted(Object.keys(mod))).toEqual(sorted(expected.filter((n) => !n.startsWith("type "))));
  });
}

test("exports - package.json exports exactly these entry points (and itself)", () => {
  const listed = Object.keys(SURFACE).map((e) => (e === "gearbun" ? "." : `./${e.slice("gearbun/".length)}`));
  expect(Object.keys(pkg.exports).toSorted()).toEqual([...listed, "./package.json"].toSorted());
});
