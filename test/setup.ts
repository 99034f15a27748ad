// Preloaded by bunfig.toml for every test file.
//
// The per-test timeout (30 s: integration tests start real gearmand processes and worker
// subprocesses, which on a loaded 2-core machine can outlast Bun's 5 s default) is the
// `--timeout 30000` of package.json's test script: a setDefaultTimeout() here reaches only the
// first test file of a multi-file run (Bun 1.4.5), so the others kept 5 s.

// Every Worker in the suite (and in the worker processes tests spawn, which inherit the
// environment) checks the scheduler's invariants after every event; a violation is thrown.
process.env.GEARBUN_CHECK_INVARIANTS ??= "1";
