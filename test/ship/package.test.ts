/**
 * Package - the package as users get it: `bun pm pack`, then `bun add ./gearbun-X.tgz` in a
 * fresh Bun project in a temporary folder (offline: its registry is a closed loopback port, so
 * nothing but the tarball can be installed). From there `gearbun` and each subpath import, run
 * and type-check (tsconfig as `bun init` writes it), and `bun x gearbun` runs the CLI. The tarball
 * holds the library and the CLI, not the demo, tests, benchmarks or examples.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { run } from "../support/processes.ts";

const root = join(import.meta.dir, "..", "..");
let dir = "";
let app = "";
let tarball = "";

/** `bun init`'s tsconfig, with bun-types (what this checkout has offline) for @types/bun. */
const TSCONFIG = {
  compilerOptions: {
    lib: ["ESNext"],
    target: "ESNext",
    module: "Preserve",
    moduleDetection: "force",
    jsx: "react-jsx",
    allowJs: true,
    types: ["bun-types"],
    moduleResolution: "bundler",
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    noFallthroughCasesInSwitch: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
  },
  include: ["*.ts"],
};

/** An application's use of each entry point, run to its end. */
const APP = `import { Client, Worker, startServer, JobFailure, JobFailedError, type Job, type JobHandler } from "gearbun";
import { PacketType, encodeRequest, PacketDecoder, REQ_MAGIC } from "gearbun/protocol";
import { Exposition } from "gearbun/ops";
import { WORKER_DEFAULTS } from "gearbun/options";

const reverse: JobHandler = (job: Job) => job.text().split("").reverse().join("");
const server = await startServer({ port: 0 });
const worker = new Worker({ servers: server.address, concurrency: WORKER_DEFAULTS.concurrency });
worker.register("reverse", reverse);
worker.register("refuse", () => {
  throw new JobFailure("no");
});
await worker.start();
const client = new Client({ servers: server.address });
const text = await client.submit("reverse", "hello").text();
const refused = await client.submit("refuse", "").then(() => "done", (e: unknown) => (e instanceof JobFailedError ? e.code : String(e)));
await client.close();
await worker.stop();
await server.stop();

const packets: number[] = [];
const decoder = new PacketDecoder(
  { packet: (p) => packets.push(p.type), error: (e) => console.error(e.message) },
  { magic: REQ_MAGIC },
);
decoder.push(encodeRequest(PacketType.ECHO_REQ, "x"));
const exposition = new Exposition().gauge("up", "Up.", [{ value: 1 }]).text();
console.log(JSON.stringify({ text, refused, packets, exposition }));
`;

/** A handler and an event listener reaching for the runner's bookkeeping: each line must be a type error. */
const INTERNALS = `import { Worker } from "gearbun";
const worker = new Worker();
worker.register("f", (job) => String(job.state));
worker.on("job:end", ({ job }) => job.link);
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gearbun-package-"));
  const pack = await run([process.execPath, "pm", "pack", "--destination", dir, "--quiet"], { cwd: root });
  if (pack.code !== 0) throw new Error(`bun pm pack failed: ${pack.err}`);
  tarball = join(dir, `gearbun-${pkg.version}.tgz`);
  app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  // Any registry request fails: the tarball is all this install may use.
  writeFileSync(join(app, "bunfig.toml"), '[install]\nregistry = "http://127.0.0.1:9/"\n');
  const add = await run([process.execPath, "add", tarball], { cwd: app, timeoutMs: 60_000 });
  if (add.code !== 0) throw new Error(`bun add ${tarball} failed: ${add.out}${add.err}`);
  for (const name of ["bun-types", "@types", "undici-types"]) {
    symlinkSync(join(root, "node_modules", name), join(app, "node_modules", name));
  }
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG));
  writeFileSync(join(app, "index.ts"), APP);
  mkdirSync(join(app, "internals"));
  writeFileSync(
    join(app, "internals", "tsconfig.json"),
    JSON.stringify({ extends: "../tsconfig.json", include: ["*.ts"] }),
  );
  writeFileSync(join(app, "internals", "index.ts"), INTERNALS);
}, 90_000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

test("package - the tarball holds package.json, README.md, the handler adapters and src without the demo", async () => {
  const list = await run(["tar", "tzf", tarball]);
  expect(list.code).toBe(0);
  const files = list.out.trim().split("\n").toSorted();
  // The Python and PHP adapters (adapters/) run as handler processes of their own language.
  const adapters = (readdirSync(join(root, "adapters"), { recursive: true }) as string[])
    .filter((f) => statSync(join(root, "adapters", f)).isFile())
    .map((f) => `package/adapters/${f}`);
  expect(adapters.length).toBeGreaterThan(0);
  expect(files.filter((f) => !f.startsWith("package/src/"))).toEqual(
    ["package/README.md", "package/package.json", ...adapters].toSorted(),
  );
  expect(files.filter((f) => /\/demo\/|\.test\.ts$/.test(f))).toEqual([]);
  // Every exports target and the bin are in it.
  const targets = [...Object.values(pkg.exports), pkg.bin.gearbun].map((p) => `package/${p.slice(2)}`);
  for (const target of targets) expect(files).toContain(target);
  // Every file under src is in it (non-TypeScript files a handler adapter runs included), the
  // demo's folder aside.
  const sources = (readdirSync(join(root, "src"), { recursive: true }) as string[])
    .filter((f) => statSync(join(root, "src", f)).isFile() && !f.startsWith("demo/"))
    .map((f) => `package/src/${f}`);
  expect(files.filter((f) => f.startsWith("package/src/")).toSorted()).toEqual(sources.toSorted());
});

test("package - gearbun and each subpath import and run in a fresh project", async () => {
  const { code, out, err } = await run([process.execPath, "index.ts"], { cwd: app });
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(out)).toEqual({
    text: "olleh",
    refused: "JOB_FAILED",
    packets: [16], // ECHO_REQ
    exposition: "# HELP up Up.\n# TYPE up gauge\nup 1\n",
  });
});

test("package - gearbun and each subpath type-check in a fresh project", async () => {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  const { code, out, err } = await run([tsc, "--noEmit", "-p", app], { cwd: app, timeoutMs: 60_000 });
  expect(out + err).toBe("");
  expect(code).toBe(0);
});

test("package - a handler and an event listener see the Job's public members only", async () => {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  const { code, out } = await run([tsc, "--noEmit", "-p", join(app, "internals")], { cwd: app, timeoutMs: 60_000 });
  expect(code).not.toBe(0);
  const errors = out
    .trim()
    .split("\n")
    .map((l) => l.replace(/^.*index\.ts\((\d+),\d+\)/, "index.ts($1)"));
  expect(errors).toEqual([
    "index.ts(3): error TS2339: Property 'state' does not exist on type 'Job'.",
    "index.ts(4): error TS2339: Property 'link' does not exist on type 'Job'.",
  ]);
});

test("package - bun x gearbun runs the installed CLI", async () => {
  const env = { ...process.env, GEARMAN_SERVERS: "" };
  expect(await run([process.execPath, "x", "gearbun", "--version"], { cwd: app, env })).toEqual({
    code: 0,
    out: `gearbun ${pkg.version}\n`,
    err: "",
    hung: false,
  });
  const help = await run([process.execPath, "x", "gearbun", "--help"], { cwd: app, env });
  expect(help.code).toBe(0);
  expect(help.out).toContain("Usage: gearbun <command>");
});
