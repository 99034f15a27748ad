/**
 * The client's in-flight window (`maxInFlight`): at most `limit` submits are sent and not yet
 * ended; the others wait here, in submit order, as they are — no packet is encoded for them
 * until they are let in. A submit that ends (created, completed, failed, timed out) lets the
 * next one in. A submit that timed out while it waited is skipped when its turn comes.
 */
import type { GearmanError } from "../errors.ts";
import { Fifo } from "../util/fifo.ts";
import type { Submission, SubmitWindow } from "./submission.ts";

export class Window implements SubmitWindow {
  private active = 0;
  private readonly waiting = new Fifo<Submission>(1024);
  /** True while `release` lets submits in: a submit that fails at once must not recurse. */
  private admitting = false;

  /**
   * @param limit submits in flight at most
   * @param send sends a submit that was let in
   */
  constructor(
    private readonly limit: number,
    private readonly send: (submission: Submission) => void,
  ) {}

  /** Submits sent and not yet ended. */
  get inFlight(): number {
    return this.active;
  }

  /** Submits waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Sends the submit now if the window has room, else queues it. */
  enter(submission: Submission): void {
    if (this.active < this.limit && this.waiting.length === 0 && !this.admitting) this.admit(submission);
    else {
      this.waiting.push(submission);
      this.pump();
    }
  }

  /** A submit that was let in ended: the next ones go. */
  release(): void {
    this.active--;
    this.pump();
  }

  private pump(): void {
    if (this.admitting) return;
    this.admitting = true;
    try {
      while (this.active < this.limit) {
        const next = this.waiting.shift();
        if (next === undefined) break;
        if (next.state === "pending") this.admit(next);
      }
    } finally {
      this.admitting = false;
    }
  }

  /** Rejects every waiting submit (the client closed). */
  fail(error: GearmanError): void {
    for (const s of this.waiting.drain()) s.reject(error);
  }

  private admit(submission: Submission): void {
    this.active++;
    submission.admitted(this);
    this.send(submission);
  }
}
