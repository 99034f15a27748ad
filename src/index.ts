// The `gearbun` entry point: what an application uses. Re-exports only; the codec and connection
// are in `gearbun/protocol`, operators' building blocks in `gearbun/ops`, the defaults tables and
// option resolvers in `gearbun/options` (test/exports.test.ts lists every name).
export {
  GearmanError,
  ProtocolError,
  ConnectionError,
  TimeoutError,
  ServerError,
  JobFailedError,
  JobExceptionError,
  ConfigError,
  PoolError,
  ERROR_CODES,
} from "./errors.ts";
export type {
  GearmanErrorOptions,
  GearmanErrorCode,
  ProtocolErrorCode,
  ConnectionErrorCode,
  WorkerJobErrorCode,
  PoolErrorCode,
} from "./errors.ts";
export { VERSION } from "./version.ts";
export type { ConnectionOptions, TlsOptions } from "./options.ts";
export type { ServersInput } from "./connection/servers.ts";
export type { ReconnectPolicy, BackoffOptions } from "./connection/reconnect.ts";
export { Client } from "./client/client.ts";
export type { ClientOptions, Priority, SubmitOptions, BackgroundOptions } from "./options.ts";
export type { Payload, ServerInfo } from "./client/client.ts";
export { Task } from "./client/task.ts";
export type { TaskEvent, TaskState } from "./client/task.ts";
export type { JobStatus, UniqueStatus } from "./client/link.ts";
export { Admin } from "./admin/admin.ts";
export type { AdminOptions } from "./options.ts";
export type { StatusRow, WorkerRow, PriorityStatusRow, JobRow } from "./protocol/admin.ts";
export { Worker } from "./worker/worker.ts";
export type { WorkerOptions, GrabPacket, RetryBackoffOptions } from "./options.ts";
export type {
  RegisterOptions,
  StopOptions,
  HandleSignalsOptions,
  WorkerState,
  WorkerStats,
  ServerStats,
} from "./worker/worker.ts";
export type { FunctionStats } from "./worker/registry.ts";
export type { WorkerEvents, WorkerEventName, WorkerEventEntry, JobOutcome } from "./worker/events.ts";
export type { Job, JobHandler } from "./worker/handler.ts";
export { JobFailure } from "./worker/job.ts";
export type { JobResult, FailedJob } from "./worker/job.ts";
export { startServer } from "./server/server.ts";
export type { EmbeddedServer, EmbeddedServerStats } from "./server/server.ts";
export type { ServerOptions, ServerTlsOptions } from "./options.ts";
export { Pool, startPool } from "./pool/supervisor.ts";
export type { PoolState, ChildInfo, PoolStartOptions } from "./pool/supervisor.ts";
export type { PoolOptions, FunctionPoolOptions, PoolLogMode } from "./options.ts";
export type { PoolEvents, PoolEventName, StartReason, RecycleReason } from "./pool/events.ts";
export type { JobRecord } from "./pool/ipc.ts";
export type { LogSink } from "./pool/log.ts";
export { createGateway } from "./gateway/gateway.ts";
export type { Gateway } from "./gateway/gateway.ts";
export type { GatewayOptions } from "./options.ts";
