/** The demo's scenario when the command line does not change it (see `DemoOptions`). */
export const DEMO_DEFAULTS = {
  workers: 8,
  clients: 2,
  jobs: 500,
  rounds: 6,
  workMs: 2,
} as const;
