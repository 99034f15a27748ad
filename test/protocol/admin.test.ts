import { describe, expect, test } from "bun:test";
import { ConfigError, ProtocolError, ServerError } from "../../src/errors.ts";
import {
  AdminReplyAssembler,
  adminCommandLine,
  encodeAdminCommand,
  parseAdminReply,
  parseErrLine,
  replyShape,
  type AdminCommand,
} from "../../src/protocol/admin.ts";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { RES_MAGIC } from "../../src/protocol/packets.ts";

// Replies as gearmand 1.1.20 sends them (captured from a real server).
const REPLIES = {
  status: "other\t0\t0\t1\nfoo\t2\t1\t0\n.\n",
  workers: "38 127.0.0.1 - : other\n39 127.0.0.1 client-7 : a b\n40 ::1 - :\n.\n",
  prioritystatus: "other\t0\t0\t0\t1\nfoo\t1\t2\t3\t0\n.\n",
  showJobs: "H:vm:1\t0\t0\t1\nH:vm:2\t3\t1\t0\n.\n",
  showUnique: "u1\nea0709c2-e9f1-11f1-aa12-02fc00000001\n.\n",
  version: "OK 1.1.20+ds\n",
  getpid: "OK 5080\n",
  verbose: "OK INFO\n",
  ok: "OK\r\n",
  errUnknownJob: "ERR UNKNOWN_JOB\r\n",
  errUnknownCommand: "ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r\n",
  errDrop: "ERR there are still connected workers or executing clients\r\n",
} as const;

describe("admin protocol - commands", () => {
  test("admin protocol - every command encodes to its line with CR LF", () => {
    const cases: [AdminCommand, string][] = [
      [{ name: "status" }, "status"],
      [{ name: "workers" }, "workers"],
      [{ name: "prioritystatus" }, "prioritystatus"],
      [{ name: "version" }, "version"],
      [{ name: "getpid" }, "getpid"],
      [{ name: "verbose" }, "verbose"],
      [{ name: "show jobs" }, "show jobs"],
      [{ name: "show unique jobs" }, "show unique jobs"],
      [{ name: "cancel job", handle: "H:vm:1" }, "cancel job H:vm:1"],
      [{ name: "maxqueue", function: "f" }, "maxqueue f"],
      [{ name: "maxqueue", function: "f", size: 10 }, "maxqueue f 10"],
      [{ name: "maxqueue", function: "f", size: [1, 2, 3] }, "maxqueue f 1 2 3"],
      [{ name: "create function", function: "f" }, "create function f"],
      [{ name: "drop function", function: "f" }, "drop function f"],
    ];
    for (const [command, line] of cases) {
      expect(adminCommandLine(command)).toBe(line);
      expect(new TextDecoder().decode(encodeAdminCommand(command))).toBe(`${line}\r\n`);
    }
  });

  test("admin protocol - arguments that would break the line are refused with ConfigError", () => {
    const bad: AdminCommand[] = [
      { name: "cancel job", handle: "" },
      { name: "cancel job", handle: "a b" },
      { name: "create function", function: "x\ny" },
      { name: "drop function", function: "x\r" },
      { name: "maxqueue", function: "f", size: -1 },
      { name: "maxqueue", function: "f", size: 1.5 },
      { name: "maxqueue", function: "f", size: [1, 2, Number.NaN] },
    ];
    for (const command of bad) expect(() => encodeAdminCommand(command)).toThrow(ConfigError);
  });

  test("admin protocol - list commands and line commands", () => {
    expect(replyShape("status")).toBe("list");
    expect(replyShape("workers")).toBe("list");
    expect(replyShape("prioritystatus")).toBe("list");
    expect(replyShape("show jobs")).toBe("list");
    expect(replyShape("show unique jobs")).toBe("list");
    for (const n of [
      "version",
      "getpid",
      "verbose",
      "cancel job",
      "maxqueue",
      "create function",
      "drop function",
    ] as const) {
      expect(replyShape(n)).toBe("line");
    }
  });
});

describe("admin protocol - replies", () => {
  const rows = (text: string): string[] => text.split("\n").slice(0, -2);

  test("admin protocol - status rows", () => {
    expect(parseAdminReply("status", rows(REPLIES.status))).toEqual([
      { function: "other", total: 0, running: 0, workers: 1 },
      { function: "foo", total: 2, running: 1, workers: 0 },
    ]);
  });

  test("admin protocol - workers rows, with and without client id and functions", () => {
    expect(parseAdminReply("workers", rows(REPLIES.workers))).toEqual([
      { fd: 38, ip: "127.0.0.1", clientId: "-", functions: ["other"] },
      { fd: 39, ip: "127.0.0.1", clientId: "client-7", functions: ["a", "b"] },
      { fd: 40, ip: "::1", clientId: "-", functions: [] },
    ]);
  });

  test("admin protocol - prioritystatus rows", () => {
    expect(parseAdminReply("prioritystatus", rows(REPLIES.prioritystatus))).toEqual([
      { function: "other", high: 0, normal: 0, low: 0, workers: 1 },
      { function: "foo", high: 1, normal: 2, low: 3, workers: 0 },
    ]);
  });

  test("admin protocol - show jobs and show unique jobs rows", () => {
    expect(parseAdminReply("show jobs", rows(REPLIES.showJobs))).toEqual([
      { handle: "H:vm:1", retries: 0, ignoreJob: false, jobQueued: true },
      { handle: "H:vm:2", retries: 3, ignoreJob: true, jobQueued: false },
    ]);
    expect(parseAdminReply("show unique jobs", rows(REPLIES.showUnique))).toEqual([
      "u1",
      "ea0709c2-e9f1-11f1-aa12-02fc00000001",
    ]);
  });

  test("admin protocol - OK lines", () => {
    expect(parseAdminReply("version", ["OK 1.1.20+ds"])).toBe("1.1.20+ds");
    expect(parseAdminReply("getpid", ["OK 5080"])).toBe(5080);
    expect(parseAdminReply("verbose", ["OK INFO"])).toBe("INFO");
    expect(parseAdminReply("maxqueue", ["OK"])).toBeUndefined();
    expect(parseAdminReply("cancel job", ["OK"])).toBeUndefined();
  });

  test("admin protocol - a malformed reply is a ProtocolError BAD_REPLY naming the line", () => {
    const cases: [Parameters<typeof parseAdminReply>[0], string[]][] = [
      ["status", ["foo\t1\t2"]],
      ["status", ["foo\tx\t0\t0"]],
      ["prioritystatus", ["foo\t1\t2\t3"]],
      ["workers", ["garbage"]],
      ["show jobs", ["H:1\t0\t0"]],
      ["getpid", ["OK abc"]],
      ["version", ["NOPE"]],
      ["maxqueue", ["WHAT"]],
    ];
    for (const [name, lines] of cases) {
      let error: unknown;
      try {
        parseAdminReply(name, lines, "127.0.0.1:4730");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe("BAD_REPLY");
      expect((error as ProtocolError).message).toContain("127.0.0.1:4730");
    }
  });

  test("admin protocol - ERR lines become ServerError with the server's code and text", () => {
    const e1 = parseErrLine("ERR UNKNOWN_JOB", "h:1")!;
    expect(e1).toBeInstanceOf(ServerError);
    expect(e1.serverCode).toBe("UNKNOWN_JOB");
    expect(e1.code).toBe("SERVER_ERROR");
    expect(e1.message).toContain("h:1");
    const e2 = parseErrLine("ERR UNKNOWN_COMMAND Unknown+server+commandbogus")!;
    expect(e2.serverCode).toBe("UNKNOWN_COMMAND");
    expect(e2.message).toContain("Unknown server commandbogus");
    const e3 = parseErrLine("ERR there are still connected workers or executing clients")!;
    expect(e3.serverCode).toBe("ERR");
    expect(e3.message).toContain("there are still connected workers or executing clients");
    expect(parseErrLine("ERR")!.serverCode).toBe("ERR");
    expect(parseErrLine("OK")).toBeNull();
    expect(parseErrLine("ERRATIC\t1\t0\t0")).toBeNull();
  });
});

describe("admin protocol - assembler", () => {
  /** Feeds `text` through the real decoder (text lines) and the assembler. */
  function run(shapes: ("line" | "list")[], text: string, split: number[] = []) {
    const asm = new AdminReplyAssembler("h:1");
    for (const s of shapes) asm.expect(s);
    const out: unknown[] = [];
    const decoder = new PacketDecoder(
      {
        packet() {
          throw new Error("no packets expected");
        },
        text(line) {
          const r = asm.line(line);
          if (r) out.push(r.error ? `ERR ${r.error.serverCode}` : r.lines);
        },
        error(e) {
          throw e;
        },
      },
      { magic: RES_MAGIC, allowText: true },
    );
    const bytes = Buffer.from(text);
    let at = 0;
    for (const cut of [...split, bytes.length]) {
      decoder.push(bytes.subarray(at, cut));
      at = cut;
    }
    return { out, pending: asm.pending };
  }

  const pipelined =
    REPLIES.status + REPLIES.version + REPLIES.errUnknownJob + REPLIES.showUnique + REPLIES.ok + REPLIES.workers;
  const shapes: ("line" | "list")[] = ["list", "line", "line", "list", "line", "list"];
  const expected = [
    ["other\t0\t0\t1", "foo\t2\t1\t0"],
    ["OK 1.1.20+ds"],
    "ERR UNKNOWN_JOB",
    ["u1", "ea0709c2-e9f1-11f1-aa12-02fc00000001"],
    ["OK"],
    ["38 127.0.0.1 - : other", "39 127.0.0.1 client-7 : a b", "40 ::1 - :"],
  ];

  test("admin protocol - pipelined replies are matched in order (whole)", () => {
    expect(run(shapes, pipelined)).toEqual({ out: expected, pending: 0 });
  });

  test("admin protocol - pipelined replies byte by byte", () => {
    const cuts = Array.from({ length: pipelined.length - 1 }, (_, i) => i + 1);
    expect(run(shapes, pipelined, cuts)).toEqual({ out: expected, pending: 0 });
  });

  test("admin protocol - pipelined replies split at every boundary", () => {
    for (let cut = 1; cut < pipelined.length; cut++) {
      expect(run(shapes, pipelined, [cut])).toEqual({ out: expected, pending: 0 });
    }
  });

  test("admin protocol - a list command answered by ERR ends at that line", () => {
    expect(run(["list", "line"], "ERR UNKNOWN_SHOW_ARGUMENTS\r\nOK 1\n")).toEqual({
      out: ["ERR UNKNOWN_SHOW_ARGUMENTS", ["OK 1"]],
      pending: 0,
    });
  });

  test("admin protocol - an empty list is just the dot", () => {
    expect(run(["list"], ".\n")).toEqual({ out: [[]], pending: 0 });
  });

  test("admin protocol - a line nobody asked for is a ProtocolError", () => {
    const asm = new AdminReplyAssembler();
    expect(() => asm.line("OK")).toThrow(ProtocolError);
  });

  test("admin protocol - many replies keep the queue bounded", () => {
    const asm = new AdminReplyAssembler();
    for (let i = 0; i < 10_000; i++) {
      asm.expect("line");
      expect(asm.line(`OK ${i}`)).toEqual({ lines: [`OK ${i}`] });
    }
    expect(asm.pending).toBe(0);
  });
});
