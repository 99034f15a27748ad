// Public API: re-exports only.
export * from "./errors.ts";
export {
  PacketType,
  PACKETS,
  REQ_MAGIC,
  RES_MAGIC,
  HEADER_SIZE,
  DEFAULT_PORT,
  packetName,
} from "./protocol/packets.ts";
export type { Packet, PacketSpec, PacketName } from "./protocol/packets.ts";
export {
  encodePacket,
  encodeInto,
  encodedLength,
  encodeRequest,
  encodeResponse,
  CONSTANT_PACKETS,
} from "./protocol/encode.ts";
export type { Arg } from "./protocol/encode.ts";
export { PacketDecoder, DEFAULT_MAX_PACKET_SIZE } from "./protocol/decode.ts";
export type { DecoderHandlers, DecoderOptions } from "./protocol/decode.ts";
export { Connection } from "./connection/connection.ts";
export type {
  ConnectionState,
  ConnectionEvent,
  ConnectionHandlers,
  ConnectionConfig,
} from "./connection/connection.ts";
export { exponentialBackoff, noReconnect, BACKOFF_DEFAULTS } from "./connection/reconnect.ts";
export type { ReconnectPolicy, BackoffOptions } from "./connection/reconnect.ts";
export { parseServers, parseAddress, formatAddress, DEFAULT_SERVER } from "./connection/servers.ts";
export type { ServerAddress, ServersInput } from "./connection/servers.ts";
export { resolveConnectionOptions, CONNECTION_DEFAULTS } from "./options.ts";
export type { ConnectionOptions } from "./options.ts";
export { Client } from "./client/client.ts";
export type { Priority, Payload, SubmitOptions, BackgroundOptions, ServerInfo } from "./client/client.ts";
export { Task } from "./client/task.ts";
export type { TaskEvent, TaskState } from "./client/task.ts";
export type { JobStatus, UniqueStatus } from "./client/link.ts";
export { Admin } from "./admin/admin.ts";
export type { StatusRow, WorkerRow, PriorityStatusRow, JobRow } from "./protocol/admin.ts";
export {
  resolveClientOptions,
  resolveSubmitOptions,
  resolveAdminOptions,
  CLIENT_DEFAULTS,
  SUBMIT_DEFAULTS,
  ADMIN_DEFAULTS,
} from "./options.ts";
export type { ClientOptions, AdminOptions } from "./options.ts";
export { Worker } from "./worker/worker.ts";
export type {
  RegisterOptions,
  StopOptions,
  HandleSignalsOptions,
  WorkerState,
  WorkerStats,
  ServerStats,
} from "./worker/worker.ts";
export { Job, JobFailure } from "./worker/job.ts";
export type { JobHandler, JobResult, FailedJob } from "./worker/job.ts";
export type { FunctionStats } from "./worker/registry.ts";
export type { WorkerEvents, WorkerEventName, WorkerEventEntry, JobOutcome } from "./worker/events.ts";
export { resolveWorkerOptions, WORKER_DEFAULTS } from "./options.ts";
export type { WorkerOptions, GrabPacket } from "./options.ts";
export { resolveRetryOptions, RETRY_DEFAULTS } from "./options.ts";
export type { RetryBackoffOptions, ResolvedRetry } from "./options.ts";
export { startServer, SERVER_VERSION } from "./server/server.ts";
export type { EmbeddedServer, EmbeddedServerStats, EmbeddedServerMetrics } from "./server/server.ts";
export { resolveServerOptions, SERVER_DEFAULTS } from "./options.ts";
export type { ServerOptions, ServerFaults } from "./options.ts";
export { Pool, startPool } from "./pool/supervisor.ts";
export type { PoolState, ChildInfo, PoolStartOptions } from "./pool/supervisor.ts";
export type { PoolEvents, PoolEventName, StartReason, RecycleReason } from "./pool/events.ts";
export type { JobRecord } from "./pool/ipc.ts";
export type { LogSink } from "./pool/log.ts";
export { loadConfig as loadPoolConfig, parseConfig as parsePoolConfig } from "./pool/config.ts";
export { resolvePoolOptions, POOL_DEFAULTS } from "./options.ts";
export type { PoolOptions, FunctionPoolOptions, PoolLogMode, ResolvedPoolOptions } from "./options.ts";
export { pollCluster, pollServer, sumFunctions } from "./admin/cluster.ts";
export type { ServerSnapshot, FunctionTotals } from "./admin/cluster.ts";
export { POLL_DEFAULTS, resolvePollOptions, EXPORTER_DEFAULTS, DASHBOARD_DEFAULTS, CHECK_DEFAULTS } from "./options.ts";
export type { PollOptions, ResolvedPollOptions, ExporterOptions, DashboardOptions } from "./options.ts";
export { Exposition, Histogram, DURATION_BUCKETS, CONTENT_TYPE } from "./metrics/exposition.ts";
export type { Labels, Sample } from "./metrics/exposition.ts";
export { startExporter, scrapeCluster } from "./metrics/exporter.ts";
export type { HttpEndpoint, Health } from "./metrics/http.ts";
export { serverExposition, serveServerMetrics } from "./metrics/server.ts";
export { servePoolMetrics, collectPoolMetrics } from "./metrics/pool.ts";
export { evaluateCheck, parseThresholds, CheckState } from "./monitor/check.ts";
export type { CheckResult, CheckThresholds, JobProbe } from "./monitor/check.ts";
export { TopView } from "./monitor/top.ts";
export { serveDashboard } from "./dashboard/serve.ts";
