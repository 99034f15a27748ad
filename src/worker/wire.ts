/**
 * What goes on the wire for a job, and only on the connection session the job came from:
 * WORK_COMPLETE, a failure as WORK_WARNING (the reason) then WORK_FAIL (docs/semantics.md), the
 * handler's WORK_DATA / WORK_WARNING / WORK_STATUS, and the packet size checks before any of them.
 * The runner (runner.ts) decides which; this module writes it.
 */
import { ProtocolError } from "../errors.ts";
import { type Arg, encodePacket } from "../protocol/encode.ts";
import { PacketType } from "../protocol/packets.ts";
import { type Job, JobState } from "./job.ts";
import type { Link } from "./link.ts";

const EMPTY = new Uint8Array(0);
const TRUE = (): boolean => true;
const FALSE = (): boolean => false;

/** A thrown value as the text a caller is shown. */
export function errorText(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    return "non-printable exception";
  }
}

/**
 * A ProtocolError PACKET_TOO_LARGE when a packet for `job` carrying `data` would be over the
 * connection's `maxPacketSize` (the server would answer ERROR and drop the connection, and
 * re-queue the job to run and fail again), else null.
 */
export function oversized(job: Job, what: string, data: Arg): ProtocolError | null {
  const limit = job.link.connection.maxPacketSize;
  const fixed = job.handleBytes.byteLength + 1;
  // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: count it only when that could matter.
  if (typeof data === "string" && fixed + data.length * 3 <= limit) return null;
  const size = fixed + (typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);
  if (size <= limit) return null;
  return new ProtocolError(
    "PACKET_TOO_LARGE",
    `${what} for job ${job.handle} (${job.function}) is a ${size}-byte packet, over the ${limit}-byte limit (maxPacketSize)`,
    { server: job.link.key },
  );
}

/** The handler's value as WORK_COMPLETE data, or null for an unsupported type. */
export function resultData(value: unknown): Arg | null {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

export class JobWire {
  /** Scratch argument lists for encoding, reused for every packet (emptied after each use). */
  private readonly args1: Arg[] = [EMPTY];
  private readonly args2: Arg[] = [EMPTY, EMPTY];
  private readonly args3: Arg[] = [EMPTY, EMPTY, EMPTY];

  /** WORK_FAIL for a job the worker cannot run (its function was unregistered meanwhile). */
  refuse(link: Link, handleBytes: Uint8Array): void {
    this.args1[0] = handleBytes;
    link.connection.write(encodePacket(PacketType.WORK_FAIL, this.args1));
    this.args1[0] = EMPTY;
  }

  /**
   * Writes the packet that ends `job` (WORK_COMPLETE with `data`, or WORK_FAIL) if its connection
   * session is still the one it came from; false when it cannot be delivered.
   */
  result(job: Job, type: number, data?: Arg): boolean {
    const link = job.link;
    if (job.session !== link.session || !link.ready) return false;
    // Encoded straight into the connection's write queue: a small result and the GRAB after it
    // share one buffer and one write, with no packet buffer of their own.
    if (data === undefined) {
      this.args1[0] = job.handleBytes;
      link.connection.writePacket(type, this.args1);
      this.args1[0] = EMPTY;
    } else {
      this.args2[0] = job.handleBytes;
      this.args2[1] = data;
      try {
        link.connection.writePacket(type, this.args2);
      } finally {
        this.args2[0] = EMPTY;
        this.args2[1] = EMPTY;
      }
    }
    link.jobsDone++;
    return true;
  }

  /**
   * Ends a failed job the one way every caller on every server understands (docs/semantics.md,
   * "Why a failure is WORK_WARNING then WORK_FAIL"): the reason as WORK_WARNING, then WORK_FAIL.
   * WORK_EXCEPTION is never sent: gearmand (1.1 and 2.0) ends the job on it and hands a caller
   * that did not ask for exceptions a WORK_FAIL with a stray NUL, which libgearman's CLI never
   * takes as the end and Perl's client dies on.
   */
  failure(job: Job, reason: string): boolean {
    const link = job.link;
    if (job.session !== link.session || !link.ready) return false;
    if (reason !== "") {
      let text: Arg = reason;
      // A reason too long for one packet is cut rather than lost: the WORK_FAIL must go out.
      if (oversized(job, "the failure reason", text) !== null) {
        text = Buffer.from(reason).subarray(
          0,
          Math.max(0, link.connection.maxPacketSize - job.handleBytes.byteLength - 1),
        );
      }
      this.args2[0] = job.handleBytes;
      this.args2[1] = text;
      try {
        link.connection.writePacket(PacketType.WORK_WARNING, this.args2);
      } finally {
        this.args2[0] = EMPTY;
        this.args2[1] = EMPTY;
      }
    }
    return this.result(job, PacketType.WORK_FAIL);
  }

  /**
   * WORK_DATA / WORK_WARNING / WORK_STATUS from a running handler. Resolves true when the socket
   * can take more, false when nothing could be sent; rejects with PACKET_TOO_LARGE.
   */
  send(job: Job, type: number, a: Arg, b?: Arg): Promise<boolean> {
    const link = job.link;
    if (job.state !== JobState.Running || job.session !== link.session || !link.ready) return Promise.resolve(false);
    const tooLarge = oversized(job, "a data, warning or status packet", b === undefined ? a : b);
    if (tooLarge !== null) return Promise.reject(tooLarge);
    let bytes: Uint8Array;
    if (b === undefined) {
      this.args2[0] = job.handleBytes;
      this.args2[1] = a;
      bytes = encodePacket(type, this.args2);
      this.args2[0] = EMPTY;
      this.args2[1] = EMPTY;
    } else {
      this.args3[0] = job.handleBytes;
      this.args3[1] = a;
      this.args3[2] = b;
      bytes = encodePacket(type, this.args3);
      this.args3[0] = EMPTY;
      this.args3[1] = EMPTY;
      this.args3[2] = EMPTY;
    }
    link.connection.write(bytes);
    return link.connection.writable().then(TRUE, FALSE);
  }
}
