/**
 * Release order within an endpoint: which of its due deliveries the dispatcher releases first (issue #12).
 *
 * Every event has a priority, copied to its deliveries: `high`, `normal` (the default) or `low`. An endpoint's grant
 * for a cycle (planRelease: its credits within the cycle's budget) is split between the levels by weighted round
 * robin — slots of a fixed sequence in which each level appears `weight` times, spread evenly (smooth weighted
 * round robin; with 8:2:1 it is H H N H H L H H N H H) — continuing where the endpoint's previous release stopped;
 * a slot whose level has nothing (more) due goes to the highest level that still has. Within a level, oldest due
 * first.
 *
 * So a high delivery waits for at most one slot of another level (with the default weights) once the endpoint has a
 * free credit, whatever the backlog of the others; and no level starves: while every level has due work, each gets
 * `weight / Σ weights` of the endpoint's releases (anti-starvation: a low delivery is never held back by a steady
 * stream of high ones for longer than the share allows). Unused share is never lost: a level without due work
 * leaves its slots to the others.
 */

/** The priorities, highest first (the database enum `event_priority` holds them in this order). */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const DEFAULT_PRIORITY: Priority = 'normal';

export function isPriority(v: unknown): v is Priority {
  return typeof v === 'string' && (PRIORITIES as readonly string[]).includes(v);
}

/** Relative shares of an endpoint's releases while every level has due work (PRIORITY_WEIGHT_*): integers ≥ 1. */
export type PriorityWeights = Record<Priority, number>;

/** A count per priority level. */
export type PerPriority = Record<Priority, number>;

export function perPriority(f: (p: Priority) => number): PerPriority {
  return { high: f('high'), normal: f('normal'), low: f('low') };
}

/**
 * The round-robin sequence of `weights`: Σ weights slots, each level `weight` times, spread evenly (smooth weighted
 * round robin; ties go to the higher level).
 */
export function prioritySequence(weights: PriorityWeights): Priority[] {
  for (const p of PRIORITIES) {
    const w = weights[p];
    if (!Number.isSafeInteger(w) || w < 1)
      throw new RangeError(`weight of ${p} must be an integer ≥ 1 (got ${w})`);
  }
  const total = PRIORITIES.reduce((s, p) => s + weights[p], 0);
  const current = perPriority(() => 0);
  const out: Priority[] = [];
  for (let i = 0; i < total; i++) {
    let best: Priority = PRIORITIES[0];
    for (const p of PRIORITIES) {
      current[p] += weights[p];
      if (current[p] > current[best]) best = p;
    }
    current[best] -= total;
    out.push(best);
  }
  return out;
}

/** The weights and their sequence, built (and checked) once: the dispatcher's weights are fixed at start. */
export interface PrioritySchedule {
  readonly weights: Readonly<PriorityWeights>;
  readonly sequence: readonly Priority[];
}

/** Checks `weights` (RangeError naming the level) and builds their sequence. */
export function prioritySchedule(weights: PriorityWeights): PrioritySchedule {
  return { weights: { ...weights }, sequence: prioritySequence(weights) };
}

/**
 * How many of an endpoint's `n` releases go to each level, given its due deliveries per level (counted up to at
 * least `n`: more needs no exact figure). The n slots are taken from the sequence starting at `slot`, the endpoint's
 * own position (kept with its state, advanced by n after each release: nextPrioritySlot), so over successive cycles
 * the endpoint goes through the whole sequence, one slot per release. Never more than is due; the total is
 * min(n, Σ due).
 */
export function splitByPriority(
  n: number,
  due: PerPriority,
  schedule: PrioritySchedule,
  slot = 0,
): PerPriority {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0 (got ${n})`);
  for (const p of PRIORITIES) {
    if (!Number.isSafeInteger(due[p]) || due[p] < 0) {
      throw new RangeError(`due ${p} must be an integer ≥ 0 (got ${due[p]})`);
    }
  }
  const { weights, sequence: seq } = schedule;
  const rounds = Math.floor(n / seq.length);
  const slots = perPriority((p) => rounds * weights[p]);
  const start = ((slot % seq.length) + seq.length) % seq.length;
  for (let i = 0; i < n % seq.length; i++) slots[seq[(start + i) % seq.length]] += 1;
  const out = perPriority((p) => Math.min(slots[p], due[p]));
  // Slots of levels with nothing (more) due: to the highest level that still has due work.
  let spare = n - PRIORITIES.reduce((s, p) => s + out[p], 0);
  for (const p of PRIORITIES) {
    const k = Math.min(spare, due[p] - out[p]);
    out[p] += k;
    spare -= k;
  }
  return out;
}

/** The endpoint's position after releasing `n` from `slot` (kept below Σ weights). */
export function nextPrioritySlot(slot: number, n: number, schedule: PrioritySchedule): number {
  const total = schedule.sequence.length;
  return (((slot + n) % total) + total) % total;
}
