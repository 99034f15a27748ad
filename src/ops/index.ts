// `gearbun/ops`: operators' building blocks — cluster polling, Prometheus metrics and the
// exporter, the Nagios check, top and the dashboard, the pool's config file. Re-exports only
// (test/exports.test.ts lists every name).
export { pollCluster, pollServer, sumFunctions } from "../admin/cluster.ts";
export type { ServerSnapshot, FunctionTotals } from "../admin/cluster.ts";
export type { PollOptions, ExporterOptions, DashboardOptions } from "../options.ts";
export { Exposition, Histogram, DURATION_BUCKETS, CONTENT_TYPE } from "../metrics/exposition.ts";
export type { Labels, Sample } from "../metrics/exposition.ts";
export { startExporter, scrapeCluster } from "../metrics/exporter.ts";
export type { HttpEndpoint, Health } from "../metrics/http.ts";
export { serverExposition, serveServerMetrics } from "../metrics/server.ts";
export type { EmbeddedServerMetrics } from "../server/server.ts";
export { SERVER_VERSION } from "../server/server.ts";
export { servePoolMetrics, collectPoolMetrics } from "../pool/metrics.ts";
export { evaluateCheck, parseThresholds, CheckState } from "../monitor/check.ts";
export type { CheckResult, CheckThresholds, JobProbe } from "../monitor/check.ts";
export { TopView } from "../monitor/top.ts";
export { serveDashboard } from "../dashboard/serve.ts";
export { loadConfig as loadPoolConfig, parseConfig as parsePoolConfig } from "../pool/config.ts";
export { serveGateway } from "../gateway/serve.ts";
export type { GatewayServer } from "../gateway/serve.ts";
export type { GatewayServeOptions } from "../options.ts";
