/**
 * Options resolved in one place: src/options/, one module per part. Each defaults table there is
 * what a user gets; the resolve functions check values and name the option to change in their
 * errors. Everything is re-exported here, so callers import from this one module.
 */
export * from "./options/checks.ts";
export * from "./options/connection.ts";
export * from "./options/client.ts";
export * from "./options/worker.ts";
export * from "./options/server.ts";
export * from "./options/demo.ts";
export * from "./options/pool.ts";
export * from "./options/operators.ts";
export * from "./options/gateway.ts";
