// Finds, statically, every condition reason and event reason the operator's code can emit, with
// the TypeScript compiler: the reason argument of every `<x>.emit(consumer, type, reason, message[, notification])`
// call, and the `reason` of every object literal that also has a `type` (a condition has a
// `status` too; an event does not). A reason is resolved from string literals, both branches of a
// conditional, and string-literal (union) types the checker knows; anything else must be listed in
// the caller's table of dynamic reasons (its values, or why it only forwards reasons found
// elsewhere), so that a new kind of reason cannot slip past unnoticed.
import { relative } from 'node:path';
import ts from 'typescript';

export type ReasonKind = 'condition' | 'event';

export interface FoundReason {
  reason: string;
  kind: ReasonKind;
  /** For a condition: its type, when it is a literal (e.g. `Ready`). */
  conditionType?: string;
  file: string;
  line: number;
}

/** An expression that is not a literal: its values, or why it adds none (it forwards others). */
export type DynamicReason = { values: readonly string[] } | { forwards: string };

export interface Extraction {
  reasons: FoundReason[];
  /** Reason expressions that could not be resolved and are in no table entry: `file: expression`. */
  unresolved: string[];
  /** Table entries that matched nothing (stale). */
  unusedDynamic: string[];
}

/**
 * Extracts the reasons from `files`. `dynamic` is keyed by `<file relative to root>: <expression
 * text>`, e.g. `src/controller/events.ts: reason`.
 */
export function extractReasons(
  files: readonly string[],
  root: string,
  dynamic: Readonly<Record<string, DynamicReason>> = {},
): Extraction {
  const program = ts.createProgram([...files], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const reasons: FoundReason[] = [];
  const unresolved: string[] = [];
  const used = new Set<string>();

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`not a source file of the program: ${file}`);
    const rel = relative(root, file);
    const record = (expr: ts.Expression, kind: ReasonKind, conditionType?: string) => {
      const line = source.getLineAndCharacterOfPosition(expr.getStart(source)).line + 1;
      const push = (reason: string) =>
        reasons.push({ reason, kind, file: rel, line, ...(conditionType ? { conditionType } : {}) });
      for (const leaf of leaves(expr)) {
        const values = resolve(leaf, checker);
        if (values) {
          values.forEach(push);
          continue;
        }
        const key = `${rel}: ${leaf.getText(source)}`;
        const entry = dynamic[key];
        if (!entry) {
          unresolved.push(`${key} (line ${line})`);
          continue;
        }
        used.add(key);
        if ('values' in entry) entry.values.forEach(push);
      }
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'emit' &&
        node.arguments.length >= 4 &&
        node.arguments.length <= 5
      ) {
        record(node.arguments[2]!, 'event');
      }
      if (ts.isObjectLiteralExpression(node)) {
        const props = new Map<string, ts.Expression>();
        for (const p of node.properties) {
          if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)))
            props.set(p.name.text, p.initializer);
          else if (ts.isShorthandPropertyAssignment(p)) props.set(p.name.text, p.name);
        }
        const reason = props.get('reason');
        const type = props.get('type');
        if (reason && type) {
          const typeValues = resolve(type, checker);
          if (props.has('status')) {
            record(reason, 'condition', typeValues?.length === 1 ? typeValues[0] : undefined);
          } else if (!typeValues || typeValues.some((t) => t === 'Normal' || t === 'Warning')) {
            // An event (type Normal or Warning, or not known); other typed objects (the plan's
            // actions: create, update, delete) carry reasons of their own that are no event's.
            record(reason, 'event');
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return {
    reasons,
    unresolved,
    unusedDynamic: Object.keys(dynamic).filter((k) => !used.has(k)),
  };
}

/** The expressions a reason may come from: both branches of conditionals, without parentheses. */
function leaves(expr: ts.Expression): ts.Expression[] {
  if (ts.isParenthesizedExpression(expr)) return leaves(expr.expression);
  if (ts.isConditionalExpression(expr)) return [...leaves(expr.whenTrue), ...leaves(expr.whenFalse)];
  return [expr];
}

/** The string values an expression can have, or undefined when they cannot be known statically. */
function resolve(expr: ts.Expression, checker: ts.TypeChecker): string[] | undefined {
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return [expr.text];
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isNonNullExpression(expr))
    return resolve(expr.expression, checker);
  if (ts.isConditionalExpression(expr)) {
    const a = resolve(expr.whenTrue, checker);
    const b = resolve(expr.whenFalse, checker);
    return a && b ? [...a, ...b] : undefined;
  }
  const type = checker.getTypeAtLocation(expr);
  const parts = type.isUnion() ? type.types : [type];
  if (parts.every((t) => t.isStringLiteral())) return parts.map((t) => (t as ts.StringLiteralType).value);
  return undefined;
}

/** The reasons a troubleshooting document lists: the first backticked word of each table row. */
export function documentedReasons(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    const match = /^\s*`([A-Z][A-Za-z]+)`/.exec(first);
    if (match) out.add(match[1]!);
  }
  return out;
}
