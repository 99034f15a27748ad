/** Task events as short strings for order assertions: "data:d1", "status:1/3", "fail", "exception:boom". */
import type { TaskEvent } from "../../src/client/task.ts";

const utf8 = new TextDecoder();

export function showEvent(e: TaskEvent): string {
  switch (e.type) {
    case "data":
    case "warning":
    case "complete":
      return `${e.type}:${utf8.decode(e.data)}`;
    case "status":
      return `status:${e.numerator}/${e.denominator}`;
    case "fail":
      return "fail";
    case "exception":
      return `exception:${e.error.detail}`;
  }
}
