// Simulated time: one queue of events ordered by (time, order of scheduling), run one at a time. Every
// timer, deferred call, message delivery and disk completion of a simulated cluster goes through it,
// so a run is a function of its seed. Each node sees the queue through its own Clock, which a crash
// silences (its pending events are dropped, as a killed process's are).
import type { Cancel, Clock } from "../services.ts";

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

export class Scheduler {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** Simulated milliseconds since the start of the run. */
  now = 0;
  /** Events run so far. */
  steps = 0;
  /** The simulated wall clock at time 0 (timestamps in answers look like real ones). */
  readonly epochMs = 1_767_225_600_000;

  at(time: number, run: () => void): Cancel {
    const event: SimEvent = { time: Math.max(time, this.now), seq: this.seq++, run, cancelled: false };
    this.push(event);
    return () => {
      event.cancelled = true;
    };
  }

  after(ms: number, run: () => void): Cancel {
    return this.at(this.now + Math.max(0, ms), run);
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Whether an event is due at or before `time`. */
  hasEventBy(time: number): boolean {
    const next = this.heap[0];
    return next !== undefined && next.time <= time;
  }

  /** Run the next event; false when none is left at or before `until`. */
  step(until: number): boolean {
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.time > until) return false;
      this.pop();
      if (next.cancelled) continue;
      this.now = next.time;
      this.steps++;
      next.run();
      return true;
    }
  }

  /** A node's clock: its events are dropped once `alive` says the node has crashed. */
  clockFor(alive: () => boolean): Clock {
    const guard = (fn: () => void) => () => {
      if (alive()) fn();
    };
    return {
      now: () => this.epochMs + this.now,
      after: (ms, fn) => this.after(ms, guard(fn)),
      defer: (fn) => this.after(0, guard(fn)),
    };
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
