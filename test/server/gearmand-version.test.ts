/**
 * The suite reads which gearmand it runs against (test/support/gearmand-version.ts) so tests
 * can assert that version's behaviour: admin `version`, then `gearmand --version`, then the
 * build-info written by scripts/build-gearmand.sh.
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import {
  behaviourOf,
  gearmandVersion,
  parseGearmandVersion,
  recordedVersion,
  reportedVersion,
} from "../support/gearmand-version.ts";

test("gearmand version - release, Debian and git describe versions parse; a commit id or nothing does not", () => {
  expect(parseGearmandVersion("1.1.20+ds")).toEqual({ major: 1, minor: 1, patch: 20 });
  expect(parseGearmandVersion("2.0.0")).toEqual({ major: 2, minor: 0, patch: 0 });
  expect(parseGearmandVersion("2.0.0-3-g4642825")).toEqual({ major: 2, minor: 0, patch: 0 });
  expect(parseGearmandVersion("4642825")).toBeNull();
  expect(parseGearmandVersion("")).toBeNull();
});

test("gearmand version - 1.1.x and 2.x have known behaviour; other versions are an error naming them", () => {
  expect(behaviourOf({ text: "1.1.20+ds", major: 1, minor: 1, patch: 20, from: "admin version" })).toBe("1.1");
  expect(behaviourOf({ text: "2.0.0", major: 2, minor: 0, patch: 0, from: "build-info" })).toBe("2.0");
  expect(() => behaviourOf({ text: "1.0.6", major: 1, minor: 0, patch: 6, from: "gearmand --version" })).toThrow(
    /gearmand 1\.0\.6 .*1\.1\.x and 2\.0\.x/,
  );
});

test("gearmand version - a binary without a version falls back to the build-info next to it", () => {
  const prefix = mkdtempSync(join(tmpdir(), "gearbun-build-info-"));
  try {
    mkdirSync(join(prefix, "sbin"));
    const binary = join(prefix, "sbin", "gearmand");
    // What a build from a source tree without git metadata prints.
    writeFileSync(binary, "#!/bin/sh\necho\necho 'gearmand  - https://github.com/gearman/gearmand/issues'\n");
    chmodSync(binary, 0o755);
    expect(reportedVersion(binary)).toBe("");
    expect(recordedVersion(binary)).toBe("");
    writeFileSync(join(prefix, "build-info"), "version=2.0.0\nsource=/src/gearmand\n");
    expect(recordedVersion(binary)).toBe("2.0.0");
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

describeGearmand("gearmand version", () => {
  test("gearmand version - the gearmand under test is 1.1.x or 2.0.x, and admin version agrees with gearmand --version", async () => {
    await using g = await startGearmand();
    const v = await gearmandVersion(g.port);
    expect(["1.1", "2.0"]).toContain(behaviourOf(v));
    if (v.from === "build-info") expect(reportedVersion()).toBe("");
    else expect(v.text).toBe(reportedVersion());
  });
});
