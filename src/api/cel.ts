// The CEL rules of the Consumer schema (x-kubernetes-validations), evaluated without an API server,
// for guest mode. Only the part of CEL those rules use is supported: literals, `self`, field and
// index access, `!`, `-`, `&&`, `||`, comparisons, `in`, the `has()` and `all()` macros, and
// Kubernetes' `duration()`, `quantity()`, `string()`, `isLessThan`, `isGreaterThan` and
// `compareTo`. No maintained JavaScript CEL library has the Kubernetes extensions; a rule outside
// this subset is a parse error, which the unit tests catch for every rule of the schema.
import { parseDuration, parseQuantity } from './units.js';

type Node =
  | { t: 'lit'; v: unknown }
  | { t: 'id'; name: string }
  | { t: 'member'; obj: Node; name: string }
  | { t: 'index'; obj: Node; index: Node }
  | { t: 'call'; fn: string; target?: Node; args: Node[] }
  | { t: 'unary'; op: string; arg: Node }
  | { t: 'binary'; op: string; left: Node; right: Node };

class Quantity {
  constructor(readonly value: number) {}
}
class Duration {
  constructor(readonly ms: number) {}
}

const TOKEN =
  /\s*(?:(\d+)|'([^'\\]*)'|"([^"\\]*)"|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||==|!=|<=|>=|[!<>()[\].,-]))/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new Error(`unsupported CEL at ${at}: ${source.slice(at, at + 20)}`);
    tokens.push(
      m[1] ?? (m[2] !== undefined ? `'${m[2]}` : m[3] !== undefined ? `'${m[3]}` : (m[4] ?? m[5]!)),
    );
  }
  return tokens;
}

const BINARY: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  in: 3,
};

/** Parses a rule into a tree; throws on anything outside the supported subset. */
export function parseCel(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string) => {
    const token = tokens[pos++];
    if (token === undefined || (expected !== undefined && token !== expected))
      throw new Error(`CEL: expected ${expected ?? 'more'} in ${source}`);
    return token;
  };
  const args = (): Node[] => {
    const list: Node[] = [];
    take('(');
    while (peek() !== ')') {
      list.push(expression(0));
      if (peek() === ',') take(',');
    }
    take(')');
    return list;
  };
  const primary = (): Node => {
    const token = take();
    if (token === '(') {
      const inner = expression(0);
      take(')');
      return inner;
    }
    if (token === '!' || token === '-') return { t: 'unary', op: token, arg: unary() };
    if (token.startsWith("'")) return { t: 'lit', v: token.slice(1) };
    if (/^\d+$/.test(token)) return { t: 'lit', v: Number(token) };
    if (token === 'true' || token === 'false') return { t: 'lit', v: token === 'true' };
    if (/^[A-Za-z_]/.test(token)) {
      if (peek() === '(') return { t: 'call', fn: token, args: args() };
      return { t: 'id', name: token };
    }
    throw new Error(`CEL: unexpected ${token} in ${source}`);
  };
  const unary = (): Node => {
    let node = primary();
    for (;;) {
      if (peek() === '.') {
        take('.');
        const name = take();
        node =
          peek() === '('
            ? { t: 'call', fn: name, target: node, args: args() }
            : { t: 'member', obj: node, name };
      } else if (peek() === '[') {
        take('[');
        node = { t: 'index', obj: node, index: expression(0) };
        take(']');
      } else return node;
    }
  };
  const expression = (minPrecedence: number): Node => {
    let left = unary();
    for (;;) {
      const op = peek();
      const precedence = op !== undefined ? BINARY[op] : undefined;
      if (precedence === undefined || precedence < minPrecedence) return left;
      take();
      const right = expression(precedence + 1);
      left = { t: 'binary', op: op!, left, right };
    }
  };
  const tree = expression(0);
  if (pos !== tokens.length) throw new Error(`CEL: unexpected ${tokens[pos]} in ${source}`);
  return tree;
}

type Scope = Record<string, unknown>;

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function compare(a: unknown, b: unknown): number {
  if (a instanceof Quantity && b instanceof Quantity) return Math.sign(a.value - b.value);
  if (a instanceof Duration && b instanceof Duration) return Math.sign(a.ms - b.ms);
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error('CEL: values cannot be compared');
}

function equal(a: unknown, b: unknown): boolean {
  if (a instanceof Quantity || a instanceof Duration) return compare(a, b) === 0;
  return a === b;
}

function evaluate(node: Node, scope: Scope): unknown {
  switch (node.t) {
    case 'lit':
      return node.v;
    case 'id':
      if (!(node.name in scope)) throw new Error(`CEL: unknown name ${node.name}`);
      return scope[node.name];
    case 'member': {
      const obj = evaluate(node.obj, scope);
      if (!isMap(obj) || obj[node.name] === undefined) throw new Error(`CEL: no such key: ${node.name}`);
      return obj[node.name];
    }
    case 'index': {
      const obj = evaluate(node.obj, scope);
      const key = evaluate(node.index, scope);
      const value =
        isMap(obj) || Array.isArray(obj) ? (obj as Record<string, unknown>)[String(key)] : undefined;
      if (value === undefined) throw new Error(`CEL: no such key: ${String(key)}`);
      return value;
    }
    case 'unary': {
      const value = evaluate(node.arg, scope);
      if (node.op === '!') return !truth(value);
      if (typeof value !== 'number') throw new Error('CEL: - of a non-number');
      return -value;
    }
    case 'binary':
      return binary(node.op, node.left, node.right, scope);
    case 'call':
      return call(node, scope);
  }
}

function truth(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error('CEL: not a bool');
  return value;
}

function binary(op: string, leftNode: Node, rightNode: Node, scope: Scope): unknown {
  if (op === '||') return truth(evaluate(leftNode, scope)) || truth(evaluate(rightNode, scope));
  if (op === '&&') return truth(evaluate(leftNode, scope)) && truth(evaluate(rightNode, scope));
  const left = evaluate(leftNode, scope);
  const right = evaluate(rightNode, scope);
  switch (op) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'in':
      if (Array.isArray(right)) return right.includes(left);
      if (isMap(right)) return Object.hasOwn(right, String(left));
      throw new Error('CEL: in needs a list or map');
    default: {
      const c = compare(left, right);
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    }
  }
}

function call(node: Extract<Node, { t: 'call' }>, scope: Scope): unknown {
  const { fn, target, args } = node;
  if (!target) {
    if (fn === 'has') {
      const field = args[0];
      if (args.length !== 1 || field?.t !== 'member') throw new Error('CEL: has() needs a field');
      const obj = evaluate(field.obj, scope);
      return isMap(obj) && obj[field.name] !== undefined && obj[field.name] !== null;
    }
    const value = evaluate(args[0]!, scope);
    if (fn === 'string') return typeof value === 'number' ? String(value) : value;
    if (typeof value !== 'string') throw new Error(`CEL: ${fn}() needs a string`);
    if (fn === 'duration') return new Duration(parseDuration(value));
    if (fn === 'quantity') return new Quantity(parseQuantity(value));
    throw new Error(`CEL: unsupported function ${fn}`);
  }
  if (fn === 'all') {
    const [variable, predicate] = args;
    if (variable?.t !== 'id' || !predicate) throw new Error('CEL: all(x, predicate)');
    const collection = evaluate(target, scope);
    const items = Array.isArray(collection)
      ? collection
      : isMap(collection)
        ? Object.keys(collection)
        : undefined;
    if (!items) throw new Error('CEL: all() needs a list or map');
    return items.every((item) => truth(evaluate(predicate, { ...scope, [variable.name]: item })));
  }
  const self = evaluate(target, scope);
  const other = evaluate(args[0]!, scope);
  if (!(self instanceof Quantity) || !(other instanceof Quantity))
    throw new Error(`CEL: ${fn} needs quantities`);
  if (fn === 'isLessThan') return self.value < other.value;
  if (fn === 'isGreaterThan') return self.value > other.value;
  if (fn === 'compareTo') return compare(self, other);
  throw new Error(`CEL: unsupported method ${fn}`);
}

const parsed = new Map<string, Node>();

/** Evaluates a rule with `self` bound to the value; a runtime error (missing key, bad type) throws. */
export function evaluateRule(rule: string, self: unknown): boolean {
  let tree = parsed.get(rule);
  if (!tree) parsed.set(rule, (tree = parseCel(rule)));
  return truth(evaluate(tree, { self }));
}
