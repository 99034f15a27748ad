/**
 * The pool's config file as the commands read it (`gearbun worker --config`, `gearbun dead
 * --config`): a bad file is a usage error, one line, exit 2.
 */
import { ConfigError } from "../errors.ts";
import type { PoolOptions } from "../options.ts";
import { loadConfig } from "../pool/config.ts";
import { UsageError } from "./args.ts";

export function loadConfigOrUsage(file: string): Partial<PoolOptions> {
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}
