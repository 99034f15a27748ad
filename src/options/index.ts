// `gearbun/options`: every part's defaults table and the function that resolves its options (as
// the library and the CLI do), for tools that show or check settings. Re-exports only
// (test/exports.test.ts lists every name).
export { resolveConnectionOptions, CONNECTION_DEFAULTS } from "./connection.ts";
export { BACKOFF_DEFAULTS } from "../connection/reconnect.ts";
export {
  resolveClientOptions,
  resolveSubmitOptions,
  resolveAdminOptions,
  CLIENT_DEFAULTS,
  SUBMIT_DEFAULTS,
  ADMIN_DEFAULTS,
} from "./client.ts";
export { resolveWorkerOptions, WORKER_DEFAULTS, resolveRetryOptions, RETRY_DEFAULTS } from "./worker.ts";
export type { ResolvedRetry } from "./worker.ts";
export { resolveServerOptions, SERVER_DEFAULTS } from "./server.ts";
export type { ServerFaults } from "./server.ts";
export { resolvePoolOptions, POOL_DEFAULTS } from "./pool.ts";
export type { ResolvedPoolOptions } from "./pool.ts";
export {
  resolvePollOptions,
  POLL_DEFAULTS,
  EXPORTER_DEFAULTS,
  DASHBOARD_DEFAULTS,
  CHECK_DEFAULTS,
} from "./operators.ts";
export type { ResolvedPollOptions } from "./operators.ts";
export {
  resolveGatewayOptions,
  resolveGatewayServeOptions,
  GATEWAY_DEFAULTS,
  GATEWAY_SERVE_DEFAULTS,
} from "./gateway.ts";
export type { ResolvedGatewayOptions, ResolvedGatewayServeOptions } from "./gateway.ts";
