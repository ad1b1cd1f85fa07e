/**
 * Payload filters: an endpoint's `filter` is a JSON object matched against `{ type: eventType, data: payload }`.
 * `validateFilter` checks and compiles it once (at create/update, and when an endpoint is loaded for fan-out);
 * `matchFilter` decides one event; `explainFilter` gives the same verdict with the reasons (for
 * `POST /v1/endpoints/:id/filter/test`). Pure: no I/O, no clock, no randomness.
 *
 * ## Semantics, and where they come from
 * They follow Hookdeck Outpost, so that a filter moves between the two: its matcher
 * `internal/simplejsonmatch/match.go` + `operators.go` + `types.go` (a Go port of hookdeck/simple-json-match), its
 * test table `internal/simplejsonmatch/match_test.go`, its use in `internal/models/entities.go` (`MatchFilter`) and
 * its user guide `internal/portal/.../FilterSyntaxGuide` (the portal's filter help). What we follow:
 * - A plain value means equality: `{"data": {"status": "paid"}}`. Equality is strict (no type coercion: `1` is not
 *   `"1"`); `null` matches only `null`.
 * - An object without operators is a partial (subset) match of a nested object: every key it names must match,
 *   other keys of the payload are ignored. `{}` matches any object.
 * - Arrays in the payload: a plain scalar matches an array that contains it (nested arrays are searched too,
 *   as Outpost does); an object condition matches an array if one element matches it; a plain array in the filter
 *   matches an array that contains, for each of its items, an element matching that item (subset, any order:
 *   `["a", "b"]` matches `["b", "c", "a"]`). A plain array never matches a non-array.
 * - `$eq` / `$neq`: deep equality of the whole value (objects key-order-insensitive, arrays in order). Unlike a
 *   plain value, `{"$eq": 3}` does not match `[1, 2, 3]` (Outpost case 35).
 * - `$gt $gte $lt $lte`: number with number, string with string (code-point order, which is Outpost's UTF-8 byte
 *   order; RFC 3339 timestamps in one format compare as times). Any other pairing (type mismatch, an array, a
 *   missing field) is no match.
 * - `$in` / `$nin` with an array: the value (a string, number, boolean or null) is / is not one of its items.
 *   With a string (Outpost's second form, in its guide: "value in array, or substring match"): a string value
 *   contains / does not contain it as a substring, an array value has / has not it as an element. A value the
 *   form does not apply to (an object, an array for the array form…) is no match for `$in` AND for `$nin`.
 * - `$startsWith` / `$endsWith`: the value is a string with that prefix / suffix; the operand may be a string or
 *   a non-empty array of strings (any of them), as in Outpost.
 * - `$exists: true|false`: the field is present / absent. A field whose value is `null` is present. Outpost spells
 *   it `$exist`; both spellings are accepted, so Outpost filters validate as they are.
 * - A missing field matches nothing but `$exists: false` (and what is negated with `$not`): `$neq`, `$nin` do not
 *   match a missing field (Outpost: a missing key fails unless its condition is `$exist: false`; MongoDB differs).
 * - Several keys in one object are ANDed. `$and` / `$or` take a non-empty array of conditions; `$not` takes one
 *   condition. At the top level their conditions must be objects (they are matched against `{type, data}`);
 *   inside a field they may also be plain values (Outpost case 95: `{"$exist": true, "$or": ["else", "not"]}`).
 * - An empty filter `{}` matches every event.
 *
 * Where Outpost is silent, ambiguous or position-dependent, we chose (each is a deliberate difference):
 * - Dotted paths: `{"data.order.total": {"$gt": 5}}` is the same filter as
 *   `{"data": {"order": {"total": {"$gt": 5}}}}`. Outpost has no dotted paths (a key is a literal key), so a
 *   payload key that itself contains a dot cannot be addressed here. Paths have no array indexes; a segment
 *   applied to an array goes through its elements, as a nested object does. Two dotted keys with a common prefix
 *   are two separate conditions: `{"data.items.sku": "a", "data.items.qty": 2}` may match on different elements,
 *   while `{"data": {"items": {"sku": "a", "qty": 2}}}` needs one element with both (as in MongoDB).
 * - A condition means the same wherever it appears. Outpost's matcher evaluates `$not`, `$and` and `$or`
 *   differently by position: its guide shows `{"status": {"$not": {"$in": [...]}}}`, but its matcher returns no
 *   match for a field-level `$not` or `$and` on a scalar value, and it ignores the other keys of an object that
 *   has `$or` or a comparison operator. Here `{"x": {"$not": C}}` is exactly `{"$not": {"x": C}}` (so it matches
 *   when `x` is missing), `$and` / `$or` inside a field apply their conditions to that field's value, and every key
 *   of an object counts.
 * - Mixing comparison operators and field names in one object (`{"$gt": 1, "currency": "EUR"}`; Outpost silently
 *   ignores the field names) is rejected, as are: unknown `$` keys (`$ref`, which Outpost does not implement
 *   either, or a typo), operands of the wrong type (which Outpost evaluates as "no match" forever), top-level
 *   fields other than `type` and `data` (Outpost's input also has `id`, `topic`, `time`, `metadata`; Tern's
 *   `type` is Outpost's `topic`), empty path segments, and payload keys starting with `$` (they read as operators).
 *
 * ## Numbers
 * The payload is delivered byte-exact, but it is matched as `JSON.parse` reads it: every number is a JS double.
 * Integers beyond 2^53 (9007199254740993…) are rounded, both in the payload and in the filter, so two different
 * big integers can compare equal and ordering between them is approximate. Compare big IDs as strings.
 *
 * ## Limits
 * A filter is at most `maxBytes` (default FILTER_MAX_BYTES, 4 KiB) as UTF-8 JSON (`JSON.stringify`, no spaces)
 * and at most `maxDepth` (default FILTER_MAX_DEPTH) levels deep: an object or array is one level more than its
 * deepest child, a scalar is none, and each extra segment of a dotted key counts as the level it stands for
 * (`{"data.amount": {"$gt": 1}}` and `{"data": {"amount": {"$gt": 1}}}` are both 3 deep). Matching cost is
 * linear in the filter times the parts of the payload it reaches; deep payloads do not grow the call stack.
 *
 * Written here rather than taken from a library: the npm `simple-json-match` has Outpost's positional quirks
 * above, no validation, no dotted paths and no explanation; matching and explaining must share one evaluator.
 */

/** Default size limit of a filter, in bytes of its JSON (the AppConfig default; see FilterLimits). */
export const FILTER_MAX_BYTES = 4096;
/** Default depth limit of a filter (see "Limits" above). Room for `$or` + a 5-segment path + an operator. */
export const FILTER_MAX_DEPTH = 16;

export interface FilterLimits {
  /** Largest accepted filter, in UTF-8 bytes of `JSON.stringify(filter)`. */
  maxBytes: number;
  /** Deepest accepted nesting (see the module comment). */
  maxDepth: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxBytes: FILTER_MAX_BYTES, maxDepth: FILTER_MAX_DEPTH };

/** The operators a filter may use (plus `$exist`, Outpost's spelling of `$exists`). */
export const FILTER_OPERATORS = [
  '$eq',
  '$neq',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$startsWith',
  '$endsWith',
  '$and',
  '$or',
  '$not',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/**
 * One problem in a filter. `path` locates it from the filter's top (`data.amount.$gtt`, `$or[1].type`); `''` is
 * the filter itself. An API error maps it to `{ field: 'filter' + (path ? '.' + path : ''), reason }`.
 */
export interface FilterError {
  path: string;
  reason: string;
}

export type FilterValidation = { ok: true; filter: CompiledFilter } | { ok: false; errors: FilterError[] };

/** What a filter is matched against: the event's type and its parsed payload. */
export interface FilterInput {
  type: string;
  data: unknown;
}

export interface FilterExplanation {
  match: boolean;
  /**
   * The facts that decided the verdict, one per line, each `path: fact` (`data.amount: 5 is not > 10`). When it
   * matches: the conditions that held (for `$or`, the branches that held). When it does not: the ones that failed.
   * Inside `$not` the facts are wrapped in `not(...)`.
   */
  reasons: string[];
}

/** A validated filter, ready to match. Build it with validateFilter; treat the node tree as private. */
export interface CompiledFilter {
  /** A copy of the filter as the user wrote it. */
  readonly source: Readonly<Record<string, unknown>>;
  readonly root: FilterNode;
}

type Scalar = string | number | boolean | null;
type ComparisonOp =
  '$eq' | '$neq' | '$gt' | '$gte' | '$lt' | '$lte' | '$in' | '$nin' | '$exists' | '$startsWith' | '$endsWith';

/** The compiled form. Exported only so the type can be named; its shape may change. */
export type FilterNode =
  /** A plain scalar: equality, or containment in an array. */
  | { kind: 'equals'; value: Scalar }
  /** A plain array: every item is matched by some element of an array value. */
  | { kind: 'subset'; items: FilterNode[]; source: unknown }
  /** An object with field names (or empty, or the top level): the value is an object (or an array with one). */
  | { kind: 'shape'; fields: FieldCondition[]; logic: FilterNode[]; source: unknown }
  /** Conditions all applied to the same value (an operator object, `$and`). */
  | { kind: 'all'; items: FilterNode[] }
  | { kind: 'any'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode }
  | { kind: 'op'; op: ComparisonOp; operand: unknown; written: string };

export interface FieldCondition {
  key: string;
  condition: FilterNode;
}

const LOGICAL_OPS = new Set<string>(['$and', '$or', '$not'] satisfies FilterOperator[]);
/** Every operator of FILTER_OPERATORS that is not logical, plus `$exist` (Outpost's spelling of `$exists`). */
const COMPARISON_OPS = new Set<string>([...FILTER_OPERATORS.filter((op) => !LOGICAL_OPS.has(op)), '$exist']);
const ROOT_FIELDS = new Set<string>(['type', 'data']);
/** Validation stops collecting after this many errors (the first ones are the useful ones). */
const MAX_ERRORS = 20;

/**
 * Checks `filter` (a value from JSON.parse) and compiles it. Every problem is reported with its path; nothing is
 * compiled unless there are none. Throws a RangeError only if `limits` themselves are invalid.
 */
export function validateFilter(
  filter: unknown,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
): FilterValidation {
  assertFilterLimits(limits);
  if (!isPlainObject(filter)) {
    return fail([{ path: '', reason: 'must be a JSON object' }]);
  }
  const shapeErrors = checkJsonShape(filter, limits.maxDepth);
  if (shapeErrors.length > 0) return fail(shapeErrors);
  const bytes = Buffer.byteLength(JSON.stringify(filter), 'utf8');
  if (bytes > limits.maxBytes) {
    return fail([{ path: '', reason: `is ${bytes} bytes as JSON; the limit is ${limits.maxBytes}` }]);
  }
  const source = structuredClone(filter);
  const compiler = new Compiler(limits.maxDepth);
  const root = compiler.condition(source, '', 1, true);
  if (compiler.errors.length > 0 || root === null) return fail(compiler.errors.slice(0, MAX_ERRORS));
  return { ok: true, filter: { source, root } };
}

/** Throws a RangeError unless both limits are integers ≥ 1. */
export function assertFilterLimits(limits: FilterLimits): void {
  if (!Number.isInteger(limits.maxBytes) || limits.maxBytes < 1) {
    throw new RangeError(`filter maxBytes must be an integer ≥ 1 (got ${limits.maxBytes})`);
  }
  if (!Number.isInteger(limits.maxDepth) || limits.maxDepth < 1) {
    throw new RangeError(`filter maxDepth must be an integer ≥ 1 (got ${limits.maxDepth})`);
  }
}

/** Whether the event matches. Never throws for any JSON payload. */
export function matchFilter(compiled: CompiledFilter, input: FilterInput): boolean {
  return evaluate(compiled.root, { type: input.type, data: input.data }, null, null);
}

/** The same verdict as matchFilter, with the reasons (see FilterExplanation). */
export function explainFilter(compiled: CompiledFilter, input: FilterInput): FilterExplanation {
  const reasons: string[] = [];
  const match = evaluate(compiled.root, { type: input.type, data: input.data }, '', reasons);
  if (reasons.length === 0) reasons.push('the filter is empty: every event matches');
  return { match, reasons };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

function fail(errors: FilterError[]): FilterValidation {
  return { ok: false, errors };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Iterative first pass (no recursion, so a hostile deeply nested body cannot overflow the stack): every value is
 * JSON (plain objects, arrays, strings, finite numbers, booleans, null) and the raw nesting is within maxDepth.
 */
function checkJsonShape(filter: Record<string, unknown>, maxDepth: number): FilterError[] {
  const errors: FilterError[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: filter, path: '', depth: 1 }];
  while (stack.length > 0 && errors.length < MAX_ERRORS) {
    const { value, path, depth } = stack.pop()!;
    if (isScalar(value)) {
      if (typeof value === 'number' && !Number.isFinite(value))
        errors.push({ path, reason: 'not a JSON value' });
      continue;
    }
    if (!Array.isArray(value) && !isPlainObject(value)) {
      errors.push({ path, reason: 'not a JSON value' });
      continue;
    }
    if (depth > maxDepth) {
      errors.push({ path, reason: `nested deeper than ${maxDepth} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      }
    } else {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i][1], path: childPath(path, entries[i][0]), depth: depth + 1 });
      }
    }
  }
  return errors;
}

class Compiler {
  readonly errors: FilterError[] = [];

  constructor(private readonly maxDepth: number) {}

  private error(path: string, reason: string): null {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ path, reason });
    return null;
  }

  /**
   * Compiles a condition found at `path`, at nesting level `depth` (the level it occupies if it is an object or
   * an array). `root`: it is matched against `{type, data}` (the top level, or a logical operand there).
   */
  condition(value: unknown, path: string, depth: number, root: boolean): FilterNode | null {
    if (isScalar(value)) return { kind: 'equals', value };
    if (depth > this.maxDepth) return this.error(path, `nested deeper than ${this.maxDepth} levels`);
    if (Array.isArray(value)) {
      const items = value.map((item, i) => this.condition(item, `${path}[${i}]`, depth + 1, false));
      return items.every((n) => n !== null) ? { kind: 'subset', items: items, source: value } : null;
    }
    return this.object(value as Record<string, unknown>, path, depth, root);
  }

  private object(
    obj: Record<string, unknown>,
    path: string,
    depth: number,
    root: boolean,
  ): FilterNode | null {
    const fields: FieldCondition[] = [];
    const comparisons: FilterNode[] = [];
    const logic: FilterNode[] = [];
    const operatorKeys: string[] = [];
    const fieldKeys: string[] = [];
    let ok = true;
    for (const [key, operand] of Object.entries(obj)) {
      const keyPath = childPath(path, key);
      if (key.startsWith('$')) {
        operatorKeys.push(key);
        let node: FilterNode | null;
        if (COMPARISON_OPS.has(key)) {
          node = root
            ? this.error(keyPath, 'a comparison at the top level needs a field: put it under type or data')
            : this.comparison(key, operand, keyPath, depth);
          if (node) comparisons.push(node);
        } else if (LOGICAL_OPS.has(key)) {
          node = this.logical(key, operand, keyPath, depth, root);
          if (node) logic.push(node);
        } else {
          node = this.error(keyPath, 'unknown operator');
        }
        ok = ok && node !== null;
      } else {
        fieldKeys.push(key);
        const field = this.field(key, operand, path, depth, root);
        if (field) fields.push(field);
        ok = ok && field !== null;
      }
    }
    const comparisonKeys = operatorKeys.filter((k) => COMPARISON_OPS.has(k));
    if (comparisonKeys.length > 0 && fieldKeys.length > 0) {
      return this.error(
        path,
        `cannot mix operators (${comparisonKeys.join(', ')}) and field names (${fieldKeys.join(', ')}) in one object`,
      );
    }
    if (!ok) return null;
    if (fields.length > 0 || root || operatorKeys.length === 0)
      return { kind: 'shape', fields, logic, source: obj };
    const items = [...comparisons, ...logic];
    return items.length === 1 ? items[0] : { kind: 'all', items };
  }

  /** A field key (maybe dotted) and its condition, as nested single-field shapes. */
  private field(
    key: string,
    operand: unknown,
    path: string,
    depth: number,
    root: boolean,
  ): FieldCondition | null {
    const keyPath = childPath(path, key);
    const segments = key.split('.');
    if (segments.some((s) => s === '')) return this.error(keyPath, 'empty segment in a field path');
    if (segments.some((s) => s.startsWith('$'))) {
      return this.error(keyPath, 'an operator cannot be part of a dotted path; nest it as an object');
    }
    if (root && !ROOT_FIELDS.has(segments[0])) {
      const hint =
        segments[0] === 'topic' ? "Outpost's topic is called type here" : `did you mean data.${key}?`;
      return this.error(keyPath, `unknown field: a filter sees only type and data (${hint})`);
    }
    if (root && segments[0] === 'type' && segments.length > 1) {
      return this.error(keyPath, 'type is a string: it has no fields');
    }
    // Each segment is one level: the operand sits at depth + segments.length, and the object holding the last
    // segment (implied by the path) one level above it — checked here, as a scalar operand checks nothing.
    if (depth + segments.length - 1 > this.maxDepth) {
      return this.error(keyPath, `nested deeper than ${this.maxDepth} levels`);
    }
    const leaf = this.condition(operand, keyPath, depth + segments.length, false);
    if (leaf === null) return null;
    let condition = leaf;
    for (let i = segments.length - 1; i >= 1; i--) {
      const rest = segments.slice(i).join('.');
      condition = {
        kind: 'shape',
        fields: [{ key: segments[i], condition }],
        logic: [],
        source: { [rest]: operand },
      };
    }
    return { key: segments[0], condition };
  }

  private logical(
    key: string,
    operand: unknown,
    path: string,
    depth: number,
    root: boolean,
  ): FilterNode | null {
    if (key === '$not') {
      if (root && !isPlainObject(operand)) {
        return this.error(path, 'needs an object (at the top level it is matched against {type, data})');
      }
      const item = this.condition(operand, path, depth + 1, root);
      return item && { kind: 'not', item };
    }
    if (!Array.isArray(operand) || operand.length === 0) {
      return this.error(path, 'needs a non-empty array of conditions');
    }
    if (depth + 1 > this.maxDepth) return this.error(path, `nested deeper than ${this.maxDepth} levels`);
    const items: FilterNode[] = [];
    let ok = true;
    operand.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      const node =
        root && !isPlainObject(item)
          ? this.error(itemPath, 'must be an object (at the top level it is matched against {type, data})')
          : this.condition(item, itemPath, depth + 2, root);
      if (node) items.push(node);
      ok = ok && node !== null;
    });
    if (!ok) return null;
    return key === '$and' ? { kind: 'all', items } : { kind: 'any', items };
  }

  private comparison(written: string, operand: unknown, path: string, depth: number): FilterNode | null {
    const op = (written === '$exist' ? '$exists' : written) as ComparisonOp;
    const node: FilterNode = { kind: 'op', op, operand, written };
    switch (op) {
      case '$eq':
      case '$neq':
        // Any JSON value; its depth was checked by the first pass, but count it against the expanded depth too.
        return depth + jsonDepth(operand) > this.maxDepth
          ? this.error(path, `nested deeper than ${this.maxDepth} levels`)
          : node;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return typeof operand === 'number' || typeof operand === 'string'
          ? node
          : this.error(path, 'needs a number or a string');
      case '$in':
      case '$nin':
        if (typeof operand === 'string') return node;
        if (!Array.isArray(operand))
          return this.error(path, 'needs an array (or a string, for a substring test)');
        if (depth + 1 > this.maxDepth) return this.error(path, `nested deeper than ${this.maxDepth} levels`);
        return operand.every(isScalar)
          ? node
          : this.error(path, 'needs an array of strings, numbers, booleans or null');
      case '$startsWith':
      case '$endsWith':
        if (typeof operand === 'string') return node;
        if (Array.isArray(operand) && operand.length > 0 && operand.every((x) => typeof x === 'string')) {
          return depth + 1 > this.maxDepth
            ? this.error(path, `nested deeper than ${this.maxDepth} levels`)
            : node;
        }
        return this.error(path, 'needs a string or a non-empty array of strings');
      case '$exists':
        return typeof operand === 'boolean' ? node : this.error(path, 'needs a boolean');
    }
  }
}

/** Nesting depth of a JSON value already checked by checkJsonShape (so bounded by maxDepth). */
function jsonDepth(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((m: number, x) => Math.max(m, jsonDepth(x)), 0);
  if (isPlainObject(v)) return 1 + Object.values(v).reduce((m: number, x) => Math.max(m, jsonDepth(x)), 0);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation. One evaluator for both matchFilter (out === null: short-circuits, builds no strings) and
// explainFilter (out: collects the reasons, evaluates every branch; the verdict cannot differ because every
// condition is a pure function of the value).

function evaluate(node: FilterNode, value: unknown, path: string | null, out: string[] | null): boolean {
  switch (node.kind) {
    case 'equals':
      return evalEquals(node.value, value, path, out);
    case 'op': {
      const ok = checkOp(node, value);
      if (out) out.push(`${path}: ${describeOp(node, value, ok)}`);
      return ok;
    }
    case 'all':
      return combine(node.items, value, path, out, true);
    case 'any':
      return combine(node.items, value, path, out, false);
    case 'not': {
      if (!out) return !evaluate(node.item, value, path, null);
      const inner: string[] = [];
      const ok = !evaluate(node.item, value, path, inner);
      for (const r of inner) out.push(`not(${r})`);
      return ok;
    }
    case 'subset':
      return evalSubset(node, value, path, out);
    case 'shape':
      return evalShape(node, value, path, out);
  }
}

function combine(
  items: FilterNode[],
  value: unknown,
  path: string | null,
  out: string[] | null,
  all: boolean,
): boolean {
  if (!out) {
    return all
      ? items.every((n) => evaluate(n, value, path, null))
      : items.some((n) => evaluate(n, value, path, null));
  }
  const results = items.map((n) => {
    const reasons: string[] = [];
    return { ok: evaluate(n, value, path, reasons), reasons };
  });
  const ok = all ? results.every((r) => r.ok) : results.some((r) => r.ok);
  // AND: all facts when it holds, the failures when not. OR: the branches that held, or every failure.
  for (const r of results) if (r.ok === ok) out.push(...r.reasons);
  return ok;
}

function evalEquals(expected: Scalar, value: unknown, path: string | null, out: string[] | null): boolean {
  let ok: boolean;
  if (isScalar(value)) ok = value === expected;
  else if (Array.isArray(value)) ok = findLeaf(value, null, (leaf) => leaf === expected) !== null;
  else ok = false;
  if (out) {
    const fact =
      value === undefined
        ? 'missing'
        : Array.isArray(value)
          ? `${preview(value)} ${ok ? 'contains' : 'does not contain'} ${preview(expected)}`
          : `${preview(value)} ${ok ? 'equals' : 'does not equal'} ${preview(expected)}`;
    out.push(`${path}: ${fact}`);
  }
  return ok;
}

function evalSubset(
  node: Extract<FilterNode, { kind: 'subset' }>,
  value: unknown,
  path: string | null,
  out: string[] | null,
): boolean {
  if (!Array.isArray(value)) {
    if (out) out.push(`${path}: ${value === undefined ? 'missing' : `${preview(value)} is not an array`}`);
    return false;
  }
  if (!out) return node.items.every((item) => value.some((el) => evaluate(item, el, null, null)));
  let ok = true;
  const held: string[] = [];
  const failed: string[] = [];
  for (const item of node.items) {
    const index = value.findIndex((el) => evaluate(item, el, null, null));
    if (index < 0) {
      ok = false;
      failed.push(`${path}: no element matches ${preview(sourceOf(item))}`);
    } else {
      evaluate(item, value[index], `${path}[${index}]`, held);
    }
  }
  out.push(...(ok ? held : failed));
  return ok;
}

function evalShape(
  node: Extract<FilterNode, { kind: 'shape' }>,
  value: unknown,
  path: string | null,
  out: string[] | null,
): boolean {
  if (isPlainObjectValue(value)) return shapeOnObject(node, value, path, out);
  if (Array.isArray(value)) {
    const found = findLeaf(
      value,
      out ? path : null,
      (leaf) => isPlainObjectValue(leaf) && shapeOnObject(node, leaf, null, null),
    );
    if (!out) return found !== null;
    if (found) return shapeOnObject(node, found.leaf as Record<string, unknown>, found.path, out);
    out.push(`${path}: no element matches ${preview(node.source)}`);
    return false;
  }
  if (out) out.push(`${path}: ${value === undefined ? 'missing' : `${preview(value)} is not an object`}`);
  return false;
}

function shapeOnObject(
  node: Extract<FilterNode, { kind: 'shape' }>,
  obj: Record<string, unknown>,
  path: string | null,
  out: string[] | null,
): boolean {
  if (!out) {
    for (const f of node.fields) {
      if (!evaluate(f.condition, lookup(obj, f.key), null, null)) return false;
    }
    for (const l of node.logic) if (!evaluate(l, obj, null, null)) return false;
    return true;
  }
  const results: { ok: boolean; reasons: string[] }[] = [];
  for (const f of node.fields) {
    const reasons: string[] = [];
    results.push({
      ok: evaluate(f.condition, lookup(obj, f.key), childPath(path ?? '', f.key), reasons),
      reasons,
    });
  }
  for (const l of node.logic) {
    const reasons: string[] = [];
    results.push({ ok: evaluate(l, obj, path, reasons), reasons });
  }
  const ok = results.every((r) => r.ok);
  for (const r of results) if (r.ok === ok) out.push(...r.reasons);
  return ok;
}

function isPlainObjectValue(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own properties only: `constructor` or `__proto__` in a filter never reach Object.prototype. */
function lookup(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * The first non-array element of `arr` for which `pred` holds, searching nested arrays too, without recursion.
 * `path` (explain only) is the array's path; the result then carries the element's path (`items[2][0]`).
 */
function findLeaf(
  arr: unknown[],
  path: string | null,
  pred: (leaf: unknown) => boolean,
): { leaf: unknown; path: string | null } | null {
  const stack: { arr: unknown[]; i: number; path: string | null }[] = [{ arr, i: 0, path }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const index = top.i++;
    const el = top.arr[index];
    const elPath = top.path === null ? null : `${top.path}[${index}]`;
    if (Array.isArray(el)) stack.push({ arr: el, i: 0, path: elPath });
    else if (pred(el)) return { leaf: el, path: elPath };
  }
  return null;
}

function checkOp(node: Extract<FilterNode, { kind: 'op' }>, v: unknown): boolean {
  const x = node.operand;
  if (node.op === '$exists') return (v !== undefined) === x;
  if (v === undefined) return false;
  switch (node.op) {
    case '$eq':
      return deepEqual(v, x);
    case '$neq':
      return !deepEqual(v, x);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const c = compare(v, x);
      if (c === null) return false;
      return node.op === '$gt' ? c > 0 : node.op === '$gte' ? c >= 0 : node.op === '$lt' ? c < 0 : c <= 0;
    }
    case '$in':
    case '$nin': {
      const found = membership(v, x);
      if (found === null) return false;
      return node.op === '$in' ? found : !found;
    }
    case '$startsWith':
    case '$endsWith': {
      if (typeof v !== 'string') return false;
      const test = (s: string) => (node.op === '$startsWith' ? v.startsWith(s) : v.endsWith(s));
      return typeof x === 'string' ? test(x) : (x as string[]).some(test);
    }
    default:
      return false;
  }
}

/** `$in` without its polarity: whether `v` is in / contains `x`, or null when the form does not apply to `v`. */
function membership(v: unknown, x: unknown): boolean | null {
  if (Array.isArray(x)) return isScalar(v) ? x.some((item) => item === v) : null;
  const needle = x as string;
  if (typeof v === 'string') return v.includes(needle);
  if (Array.isArray(v)) return v.some((el) => el === needle);
  return null;
}

/** Number with number, string with string (code-point order); null for any other pairing. */
function compare(a: unknown, b: unknown): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  return null;
}

/** UTF-16 `<` misorders U+E000–U+FFFF against astral characters; code points give Outpost's UTF-8 byte order. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/** Structural equality; recursion is bounded by the filter operand's depth (it stops where the two differ). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObjectValue(a) && isPlainObjectValue(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

const SYMBOLS: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

function describeOp(node: Extract<FilterNode, { kind: 'op' }>, v: unknown, ok: boolean): string {
  const x = node.operand;
  if (node.op === '$exists') {
    if (x === true) return ok ? 'present' : 'missing';
    return ok ? 'absent' : `present (${preview(v)}), ${node.written} is false`;
  }
  if (v === undefined) return 'missing';
  const pv = preview(v);
  const px = preview(x);
  switch (node.op) {
    case '$eq':
      return `${pv} ${ok ? 'equals' : 'does not equal'} ${px}`;
    case '$neq':
      return `${pv} ${ok ? 'does not equal' : 'equals'} ${px}`;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const sym = SYMBOLS[node.op];
      if (compare(v, x) === null)
        return `${pv} cannot be compared with ${px} (${node.op} compares numbers or strings)`;
      return ok ? `${pv} ${sym} ${px}` : `${pv} is not ${sym} ${px}`;
    }
    case '$in':
    case '$nin': {
      const found = membership(v, x);
      if (found === null) {
        return Array.isArray(x)
          ? `${pv} is not a string, number, boolean or null (${node.op} ${px})`
          : `${pv} is neither a string nor an array (${node.op} ${px})`;
      }
      const verb = Array.isArray(x)
        ? found
          ? 'is in'
          : 'is not in'
        : found
          ? 'contains'
          : 'does not contain';
      return `${pv} ${verb} ${px}`;
    }
    case '$startsWith':
    case '$endsWith': {
      const what = node.op === '$startsWith' ? 'start' : 'end';
      if (typeof v !== 'string') return `${pv} is not a string (${node.op})`;
      const target = typeof x === 'string' ? px : `one of ${px}`;
      return ok ? `${pv} ${what}s with ${target}` : `${pv} does not ${what} with ${target}`;
    }
    default:
      return ok ? 'holds' : 'fails';
  }
}

function sourceOf(node: FilterNode): unknown {
  switch (node.kind) {
    case 'equals':
      return node.value;
    case 'subset':
    case 'shape':
      return node.source;
    case 'op':
      return { [node.written]: node.operand };
    case 'not':
      return { $not: sourceOf(node.item) };
    case 'all':
      return { $and: node.items.map(sourceOf) };
    case 'any':
      return { $or: node.items.map(sourceOf) };
  }
}

const PREVIEW_CHARS = 60;

/** A short JSON rendering for reasons: at most about PREVIEW_CHARS characters, whatever the value's size. */
function preview(v: unknown): string {
  if (v === undefined) return 'missing';
  const parts: string[] = [];
  let length = 0;
  const emit = (s: string): boolean => {
    parts.push(s);
    length += s.length;
    return length <= PREVIEW_CHARS;
  };
  const write = (x: unknown): boolean => {
    if (Array.isArray(x)) {
      if (!emit('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if ((i > 0 && !emit(',')) || !write(x[i])) return false;
      }
      return emit(']');
    }
    if (isPlainObjectValue(x)) {
      if (!emit('{')) return false;
      let first = true;
      for (const [k, val] of Object.entries(x)) {
        if ((!first && !emit(',')) || !emit(`${JSON.stringify(k)}:`) || !write(val)) return false;
        first = false;
      }
      return emit('}');
    }
    return emit(JSON.stringify(x) ?? 'null');
  };
  const complete = write(v);
  const text = parts.join('');
  return complete ? text : `${text.slice(0, PREVIEW_CHARS)}…`;
}
