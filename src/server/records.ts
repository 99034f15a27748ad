/**
 * The job server's records, without sockets or queue logic: a job, a function, and a connection
 * as the queues see it. queues.ts keeps them; the handlers and the admin commands read them.
 */
import { Fifo } from "../util/fifo.ts";

export const Priority = { HIGH: 0, NORMAL: 1, LOW: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/** A connection as the queues see it: a client, a worker, or both. */
export interface QueuePeer {
  readonly id: number;
  /** Sent PRE_SLEEP and found nothing to do (gearmand `is_sleeping`). */
  sleeping: boolean;
  /** Woken since its last GRAB (gearmand `is_noop_sent`). */
  noopSent: boolean;
  /**
   * Functions this connection can do → CAN_DO_TIMEOUT in ms (0: none). Reversed turn order: a
   * CAN_DO adds at the end, the last is served first, and a function served moves to the front.
   */
  readonly abilities: Map<FunctionRecord, number>;
  /** Jobs handed to this connection as a worker and not finished. */
  readonly jobsInHand: Set<Job>;
  /** Jobs this connection waits on as a client (a foreground submit). */
  readonly attached: Set<Job>;
  /** Sent OPTION_REQ "exceptions": gets WORK_EXCEPTION rather than WORK_FAIL. */
  readonly exceptions: boolean;
  /** Sends a NOOP. */
  wake(): void;
  /** Queues a packet for this connection (results of jobs it is attached to). */
  send(bytes: Uint8Array): void;
}

export class FunctionRecord {
  /** FIFO of queued jobs per priority (HIGH, NORMAL, LOW); cancelled ones are dropped lazily. */
  readonly queues: [Fifo<Job>, Fifo<Job>, Fifo<Job>] = [new Fifo(), new Fifo(), new Fifo()];
  /** Queued + running + scheduled (epoch) jobs: the `status` TOTAL column. */
  total = 0;
  running = 0;
  /** Epoch jobs not due yet (counted as NORMAL in `prioritystatus`, as gearmand does). */
  scheduled = 0;
  /** Connections that can do this function, in registration order. */
  readonly workers: QueuePeer[] = [];
  /** Where the next wake-up round starts (gearmand rotates its worker list). */
  wakeCursor = 0;
  /** `maxqueue` limits per priority; 0: unlimited. */
  maxQueue: [number, number, number] = [0, 0, 0];

  /** The name's bytes, for JOB_ASSIGN (names are latin1 strings). */
  readonly nameBytes: Uint8Array;

  constructor(readonly name: string) {
    this.nameBytes = Buffer.from(name, "latin1");
  }

  queued(priority: Priority): number {
    return this.queues[priority].length + (priority === Priority.NORMAL ? this.scheduled : 0);
  }
}

export class Job {
  /** Clients attached (one entry per foreground submit, as gearmand keeps them). */
  clients: QueuePeer[] = [];
  worker: QueuePeer | null = null;
  numerator = "0";
  denominator = "0";
  /** Times the job was taken back from a worker (disconnect, CAN_DO_TIMEOUT). */
  retries = 0;
  /** Cancelled or abandoned: never run; dropped when it reaches the head of its queue. */
  ignored = false;
  /** Kept in the durable store. */
  stored = false;
  /** CAN_DO_TIMEOUT timer while running. */
  timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly handle: string,
    readonly fn: FunctionRecord,
    readonly unique: string,
    /** Coalescing map key, function NUL key ("" for none): see JobQueues.keyOf. */
    readonly key: string,
    readonly data: Uint8Array,
    readonly priority: Priority,
    readonly background: boolean,
    readonly reducer: string | null,
    /** Run at (ms since epoch), 0: now. */
    readonly when: number,
  ) {}
}

export interface SubmitRequest {
  fn: string;
  unique: string;
  data: Uint8Array;
  priority: Priority;
  background: boolean;
  reducer: string | null;
  /** Run at (ms since epoch); 0 or past: now. */
  when: number;
  /** The submitting connection for a foreground job. */
  client: QueuePeer | null;
}
