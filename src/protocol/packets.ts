/**
 * The one packet table of the Gearman binary protocol (gearmand PROTOCOL, protocol.h).
 * Nothing else in gearbun restates these numbers: import `PacketType` and `PACKETS`.
 */

/** `\0REQ`: everything sent to a job server. */
export const REQ_MAGIC = 0x00524551;
/** `\0RES`: everything a job server sends. */
export const RES_MAGIC = 0x00524553;
/** Magic (4) + type (4) + body length (4), all big-endian. */
export const HEADER_SIZE = 12;
export const DEFAULT_PORT = 4730;

export const PacketType = {
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  SUBMIT_REDUCE_JOB: 37,
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
} as const;

export type PacketName = keyof typeof PacketType;
export type PacketTypeNumber = (typeof PacketType)[PacketName];

/** Who sends a packet: C client, W worker, S server. */
export type Direction = "C>S" | "W>S" | "S>C" | "S>W" | "S>CW" | "CW>S" | "WS>CS";

export interface PacketSpec {
  readonly name: PacketName;
  readonly type: PacketTypeNumber;
  /** Number of NUL-separated arguments; the last one runs to the end of the body. */
  readonly args: number;
  /** The last argument is opaque data that may hold NULs (payload, echo, error text). */
  readonly data: boolean;
  readonly dir: Direction;
}

const spec = (name: PacketName, args: number, data: boolean, dir: Direction): PacketSpec => ({
  name,
  type: PacketType[name],
  args,
  data,
  dir,
});

const SPECS: PacketSpec[] = [
  spec("CAN_DO", 1, false, "W>S"),
  spec("CANT_DO", 1, false, "W>S"),
  spec("RESET_ABILITIES", 0, false, "W>S"),
  spec("PRE_SLEEP", 0, false, "W>S"),
  spec("NOOP", 0, false, "S>W"),
  spec("SUBMIT_JOB", 3, true, "C>S"),
  spec("JOB_CREATED", 1, false, "S>C"),
  spec("GRAB_JOB", 0, false, "W>S"),
  spec("NO_JOB", 0, false, "S>W"),
  spec("JOB_ASSIGN", 3, true, "S>W"),
  spec("WORK_STATUS", 3, false, "WS>CS"),
  spec("WORK_COMPLETE", 2, true, "WS>CS"),
  spec("WORK_FAIL", 1, false, "WS>CS"),
  spec("GET_STATUS", 1, false, "C>S"),
  spec("ECHO_REQ", 1, true, "CW>S"),
  spec("ECHO_RES", 1, true, "S>CW"),
  spec("SUBMIT_JOB_BG", 3, true, "C>S"),
  spec("ERROR", 2, true, "S>CW"),
  spec("STATUS_RES", 5, false, "S>C"),
  spec("SUBMIT_JOB_HIGH", 3, true, "C>S"),
  spec("SET_CLIENT_ID", 1, false, "CW>S"),
  spec("CAN_DO_TIMEOUT", 2, false, "W>S"),
  spec("ALL_YOURS", 0, false, "W>S"),
  spec("WORK_EXCEPTION", 2, true, "WS>CS"),
  spec("OPTION_REQ", 1, false, "CW>S"),
  spec("OPTION_RES", 1, false, "S>CW"),
  spec("WORK_DATA", 2, true, "WS>CS"),
  spec("WORK_WARNING", 2, true, "WS>CS"),
  spec("GRAB_JOB_UNIQ", 0, false, "W>S"),
  spec("JOB_ASSIGN_UNIQ", 4, true, "S>W"),
  spec("SUBMIT_JOB_HIGH_BG", 3, true, "C>S"),
  spec("SUBMIT_JOB_LOW", 3, true, "C>S"),
  spec("SUBMIT_JOB_LOW_BG", 3, true, "C>S"),
  // func, unique, minute, hour, day of month, month, day of week, data
  spec("SUBMIT_JOB_SCHED", 8, true, "C>S"),
  spec("SUBMIT_JOB_EPOCH", 4, true, "C>S"),
  // func, unique, reducer, aggregator (sent empty), data
  spec("SUBMIT_REDUCE_JOB", 5, true, "C>S"),
  spec("SUBMIT_REDUCE_JOB_BACKGROUND", 5, true, "C>S"),
  spec("GRAB_JOB_ALL", 0, false, "W>S"),
  spec("JOB_ASSIGN_ALL", 5, true, "S>W"),
  spec("GET_STATUS_UNIQUE", 1, false, "C>S"),
  spec("STATUS_RES_UNIQUE", 6, false, "S>C"),
];

/** The highest packet type number defined. */
export const MAX_PACKET_TYPE = 42;

/** `PACKETS[type]` is the spec of that type, or undefined for an unknown number (0, 5, > 42). */
export const PACKETS: readonly (PacketSpec | undefined)[] = (() => {
  const table: (PacketSpec | undefined)[] = new Array(MAX_PACKET_TYPE + 1).fill(undefined);
  for (const s of SPECS) table[s.type] = s;
  return table;
})();

/** The name of a packet type, or `UNKNOWN(n)`, for messages. */
export function packetName(type: number): string {
  return PACKETS[type]?.name ?? `UNKNOWN(${type})`;
}

/** A decoded packet. `args` are views into the received bytes: copy what you keep. */
export interface Packet {
  readonly type: number;
  readonly args: Uint8Array[];
}
