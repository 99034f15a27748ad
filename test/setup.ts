// Preloaded by bunfig.toml for every test file: integration tests start real gearmand
// processes and worker subprocesses, which on a loaded 2-core machine can outlast Bun's 5 s default.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
