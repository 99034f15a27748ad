/**
 * Work results from a worker — WORK_STATUS, WORK_DATA, WORK_WARNING, WORK_COMPLETE, WORK_FAIL,
 * WORK_EXCEPTION — passed on to the job's clients, and the end of the job where the result ends it.
 * Replies are what gearmand 1.1 sends (server.cc).
 */
import { encodePacket } from "../protocol/encode.ts";
import { frameRelay } from "../protocol/frame.ts";
import { PacketType, RES_MAGIC } from "../protocol/packets.ts";
import { latin1At } from "../protocol/read.ts";
import type { HandlerContext } from "./handlers.ts";
import type { Peer } from "./peer.ts";
import type { Job } from "./records.ts";

const text = (b: Uint8Array): string => latin1At(b);

/** C `atoi` into a uint32, as gearmand keeps WORK_STATUS numbers. */
function atoiU32(b: Uint8Array): string {
  const n = Number.parseInt(text(b), 10);
  return String(Number.isFinite(n) ? n >>> 0 : 0);
}

export class WorkResults {
  constructor(private readonly ctx: HandlerContext) {}

  // Work results are accepted only from the worker holding the job (as gearmand). Each is encoded
  // once and the same bytes go to every attached client (one entry per foreground submit).

  status(peer: Peer, a: Uint8Array[]): void {
    const job = this.heldJob(peer, a[0]!, "Job given in work result not found");
    if (job === null) return;
    job.numerator = atoiU32(a[1]!);
    job.denominator = atoiU32(a[2]!);
    this.forward(job, PacketType.WORK_STATUS, a);
  }

  /** WORK_DATA and WORK_WARNING: passed on; the job goes on. */
  data(peer: Peer, type: number, a: Uint8Array[]): void {
    const job = this.heldJob(peer, a[0]!, "Job does not exist on server");
    if (job !== null) this.forward(job, type, a);
  }

  /** WORK_COMPLETE and WORK_FAIL: passed on; the job ends. */
  complete(peer: Peer, type: number, a: Uint8Array[]): void {
    const job = this.heldJob(peer, a[0]!, "Job given in work result not found");
    if (job === null) return;
    this.forward(job, type, a);
    this.ctx.counters.ended(job.fn.name, type === PacketType.WORK_COMPLETE ? "complete" : "fail");
    this.ctx.end(job);
  }

  /** WORK_COMPLETE read from its bytes: the body `buf[from, to)` goes to the clients as it came. */
  completeFrom(peer: Peer, handle: string, buf: Uint8Array, from: number, to: number): void {
    const job = this.ctx.queues.held(handle, peer);
    if (job === null) {
      peer.error("JOB_NOT_FOUND", "Job given in work result not found");
      return;
    }
    if (job.clients.length > 0) {
      const bytes = frameRelay(PacketType.WORK_COMPLETE, buf, from, to);
      for (const c of job.clients) c.send(bytes);
    }
    this.ctx.counters.ended(job.fn.name, "complete");
    this.ctx.end(job);
  }

  /**
   * Passed on to clients that asked for exceptions; the others get a well-formed WORK_FAIL (the
   * handle alone). The job ends here, as in gearmand; a WORK_FAIL the worker sends after it is
   * answered ERROR JOB_NOT_FOUND. Unlike gearmand, no stray NUL follows the handle: with it,
   * libgearman's `gearman` CLI never takes the WORK_FAIL as the end and Perl's client dies.
   */
  exception(peer: Peer, a: Uint8Array[]): void {
    const job = this.heldJob(peer, a[0]!, "An exception was received for a job that does not exist");
    if (job === null) return;
    let exception: Uint8Array | null = null;
    let fail: Uint8Array | null = null;
    for (const c of job.clients) {
      if (c.exceptions) c.send((exception ??= encodePacket(PacketType.WORK_EXCEPTION, a, RES_MAGIC)));
      else c.send((fail ??= encodePacket(PacketType.WORK_FAIL, [a[0]!], RES_MAGIC)));
    }
    this.ctx.counters.ended(job.fn.name, "exception");
    this.ctx.end(job);
  }

  /** The job `handle` names if this worker holds it; otherwise an ERROR with gearmand's text. */
  private heldJob(peer: Peer, handle: Uint8Array, notFound: string): Job | null {
    const job = this.ctx.queues.held(text(handle), peer);
    if (job === null) peer.error("JOB_NOT_FOUND", notFound);
    return job;
  }

  private forward(job: Job, type: number, a: Uint8Array[]): void {
    if (job.clients.length === 0) return;
    const bytes = encodePacket(type, a, RES_MAGIC);
    for (const c of job.clients) c.send(bytes);
  }
}
