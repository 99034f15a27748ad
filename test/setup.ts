// Preloaded by bunfig.toml for every test file: integration tests start real gearmand
// processes and worker subprocesses, which on a loaded 2-core machine can outlast Bun's 5 s default.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);

// Every Worker in the suite (and in the worker processes tests spawn, which inherit the
// environment) checks the scheduler's invariants after every event; a violation is thrown.
process.env.GEARBUN_CHECK_INVARIANTS ??= "1";
