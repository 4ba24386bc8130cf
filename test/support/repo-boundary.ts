// Finds code that reads or names a path outside the repository: a clone on a user's machine has
// only the repository, so anything beside it (or an absolute path of a developer's machine) breaks
// there. Path expressions are evaluated statically where their parts are known: string literals,
// `import.meta.url` / `import.meta.dirname` / `__dirname`, `process.cwd()` (the repository root
// under npm scripts), `new URL()`, `fileURLToPath()`, `path.join()` / `resolve()` / `dirname()`,
// template literals, `+`, and constants, also those imported from another module of the
// repository (such as REPO_ROOT). A `..` whose base cannot be evaluated is reported too: what
// cannot be checked is not allowed to climb.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface Escape {
  /** Path relative to the repository root. */
  file: string;
  line: number;
  reason: string;
}

/** Folders whose code must stay inside the repository. */
export const CHECKED_FOLDERS = ['src', 'test', 'scripts', 'bin', '.ci'];
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIPPED_FOLDERS = new Set(['node_modules', '.testplane', 'dist']);

/** Literal text that names the development machine's workspace or the references beside the repo. */
const FOREIGN_PATH = /(^|[\s"'`=:(])\/work(\/|$)|(^|\/)shared\/reference\b|(^|[^.\w])\.\.\/shared\b/;

type Value = { kind: 'text'; text: string } | { kind: 'path'; path: string } | { kind: 'url'; path: string };

const FS_CALLS = new Set([
  'readFileSync',
  'readFile',
  'writeFileSync',
  'writeFile',
  'appendFileSync',
  'existsSync',
  'readdirSync',
  'readdir',
  'statSync',
  'stat',
  'lstatSync',
  'openSync',
  'open',
  'createReadStream',
  'createWriteStream',
  'mkdirSync',
  'mkdir',
  'rmSync',
  'rm',
  'cpSync',
  'copyFileSync',
  'renameSync',
  'symlinkSync',
  'readlinkSync',
  'realpathSync',
  'accessSync',
  'watch',
]);
const PATH_CALLS = new Set(['join', 'resolve', 'normalize', 'dirname']);

const hasParentSegment = (text: string) => text.split(/[\\/]/).includes('..');

export class RepoBoundary {
  private readonly sources = new Map<string, ts.SourceFile | undefined>();

  /**
   * @param root the repository root
   * @param overrides file contents by absolute path, read instead of the disk (and scanned too)
   */
  constructor(
    readonly root: string,
    private readonly overrides: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Every escape in the checked folders (plus the overrides). */
  scanRepository(): Escape[] {
    const files = new Set<string>();
    for (const folder of CHECKED_FOLDERS)
      for (const file of this.listFiles(path.join(this.root, folder))) files.add(file);
    for (const file of this.overrides.keys()) files.add(file);
    return [...files].sort().flatMap((file) => this.scanFile(file));
  }

  scanFile(file: string): Escape[] {
    if (CODE.test(file)) return this.scanCode(file);
    const text = this.read(file);
    if (text === undefined) return [];
    const isShell = file.endsWith('.sh') || /^#!.*\b(ba|da|z)?sh\b/.test(text.split('\n')[0]!);
    return isShell ? this.scanShell(file, text) : [];
  }

  private listFiles(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : this.listFiles(full);
      return entry.isFile() ? [full] : [];
    });
  }

  private read(file: string): string | undefined {
    if (this.overrides.has(file)) return this.overrides.get(file);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  private source(file: string): ts.SourceFile | undefined {
    if (!this.sources.has(file)) {
      const text = this.read(file);
      this.sources.set(
        file,
        text === undefined ? undefined : ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true),
      );
    }
    return this.sources.get(file);
  }

  private inside(target: string): boolean {
    const rel = path.relative(this.root, target);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  }

  private escape(file: string, line: number, reason: string): Escape {
    return { file: path.relative(this.root, file), line, reason };
  }

  private scanShell(file: string, text: string): Escape[] {
    const found: Escape[] = [];
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.replace(/(^|\s)#.*$/, '');
      if (FOREIGN_PATH.test(line))
        found.push(this.escape(file, i + 1, `names a path outside the repository: ${raw.trim()}`));
      // `$(dirname "$0")/<relative>` is the script's own folder: resolve it.
      let rest = line;
      for (const match of line.matchAll(/\$\(dirname "\$(?:0|\{BASH_SOURCE\[0\]\})"\)((?:\/[^\s"')]*)?)/g)) {
        const target = path.resolve(path.dirname(file), `.${match[1] ?? ''}`);
        if (!this.inside(target))
          found.push(this.escape(file, i + 1, `resolves to ${target}, outside the repository`));
        rest = rest.replace(match[0], '');
      }
      if (hasParentSegment(rest.replace(/["']/g, ' ').replace(/\s+/g, '/')))
        found.push(
          this.escape(file, i + 1, `climbs with ".." from a folder that cannot be checked: ${raw.trim()}`),
        );
    }
    return found;
  }

  private scanCode(file: string): Escape[] {
    const sourceFile = this.source(file);
    if (!sourceFile) return [];
    const found: Escape[] = [];
    const lineOf = (node: ts.Node) =>
      sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
    const report = (node: ts.Node, reason: string) => found.push(this.escape(file, lineOf(node), reason));
    /** Nodes whose value was already judged as part of an enclosing expression. */
    const judged = new Set<ts.Node>();

    const judge = (node: ts.Expression, asPath: boolean) => {
      const value = this.evaluate(node, sourceFile, new Set());
      markJudged(node);
      if (value === undefined) {
        const climbing = this.parentLiterals(node);
        if (climbing.length > 0)
          report(
            node,
            `climbs with ".." (${climbing.join(', ')}) from a base that cannot be checked statically`,
          );
        return;
      }
      // An absolute literal is a system path (/proc, /usr/bin/time); only the literal check above
      // judges those. A relative one is read from the repository root, where npm runs.
      const target =
        value.kind !== 'text'
          ? value.path
          : asPath && !path.isAbsolute(value.text) && !/^[a-z][a-z0-9+.-]*:/i.test(value.text)
            ? path.resolve(this.root, value.text)
            : undefined;
      if (target !== undefined && !this.inside(target))
        report(node, `resolves to ${target}, outside the repository`);
    };
    const markJudged = (node: ts.Node) => {
      judged.add(node);
      ts.forEachChild(node, markJudged);
    };

    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteralLike(node) && FOREIGN_PATH.test(node.text))
        report(node, `names a path outside the repository: ${JSON.stringify(node.text)}`);
      const specifier = moduleSpecifier(node);
      if (specifier && specifier.text.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier.text);
        if (!this.inside(target)) report(specifier, `imports ${target}, outside the repository`);
      } else if (!judged.has(node) && ts.isExpression(node) && this.isPathExpression(node)) {
        judge(node, true);
      } else if (ts.isCallExpression(node) && FS_CALLS.has(calleeName(node.expression) ?? '')) {
        const first = node.arguments[0];
        if (first && !judged.has(first)) judge(first, true);
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
    return found;
  }

  /** Calls and constructions that build a path or file URL. */
  private isPathExpression(node: ts.Expression): boolean {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      return name === 'fileURLToPath' || name === 'pathToFileURL' || isPathCall(node);
    }
    return (
      ts.isNewExpression(node) && node.expression.getText() === 'URL' && (node.arguments?.length ?? 0) >= 2
    );
  }

  /** String literals with a `..` segment inside an expression. */
  private parentLiterals(node: ts.Node): string[] {
    const out: string[] = [];
    const walk = (n: ts.Node) => {
      if (ts.isStringLiteralLike(n) && hasParentSegment(n.text)) out.push(JSON.stringify(n.text));
      if (ts.isTemplateExpression(n)) {
        for (const part of [n.head, ...n.templateSpans.map((s) => s.literal)])
          if (hasParentSegment(part.text)) out.push(JSON.stringify(part.text));
      }
      ts.forEachChild(n, walk);
    };
    walk(node);
    return out;
  }

  /** The static value of an expression, or undefined when any part of it is not known. */
  private evaluate(node: ts.Expression, sourceFile: ts.SourceFile, seen: Set<ts.Node>): Value | undefined {
    if (seen.has(node)) return undefined;
    seen.add(node);
    const file = sourceFile.fileName;
    const again = (n: ts.Expression) => this.evaluate(n, sourceFile, seen);
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node))
      return again(node.expression);
    if (ts.isStringLiteralLike(node)) return { kind: 'text', text: node.text };
    if (ts.isTemplateExpression(node)) {
      let value: Value | undefined = { kind: 'text', text: node.head.text };
      for (const span of node.templateSpans) {
        value = concat(concat(value, again(span.expression)), { kind: 'text', text: span.literal.text });
      }
      return value;
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)
      return concat(again(node.left), again(node.right));
    if (ts.isPropertyAccessExpression(node) && ts.isMetaProperty(node.expression)) {
      if (node.name.text === 'url') return { kind: 'url', path: file };
      if (node.name.text === 'dirname') return { kind: 'path', path: path.dirname(file) };
      if (node.name.text === 'filename') return { kind: 'path', path: file };
      return undefined;
    }
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'pathname') {
      const url = again(node.expression);
      return url?.kind === 'url' ? { kind: 'path', path: url.path } : undefined;
    }
    if (ts.isIdentifier(node)) {
      if (node.text === '__dirname') return { kind: 'path', path: path.dirname(file) };
      if (node.text === '__filename') return { kind: 'path', path: file };
      return this.constantValue(node.text, sourceFile, seen);
    }
    if (ts.isNewExpression(node) && node.expression.getText(sourceFile) === 'URL') {
      const [relative, base] = node.arguments ?? [];
      const rel = relative && again(relative);
      if (rel?.kind !== 'text') return undefined;
      if (!base) return /^file:/.test(rel.text) ? { kind: 'url', path: fileURLToPath(rel.text) } : undefined;
      const from = again(base);
      if (from?.kind !== 'url') return undefined;
      const url = new URL(rel.text, pathToFileURL(from.path));
      return url.protocol === 'file:' ? { kind: 'url', path: fileURLToPath(url) } : undefined;
    }
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      const args = node.arguments.map((a) => again(a));
      if (name === 'cwd' && node.expression.getText(sourceFile) === 'process.cwd')
        return { kind: 'path', path: this.root };
      if (name === 'fileURLToPath')
        return args[0]?.kind === 'url' ? { kind: 'path', path: args[0].path } : undefined;
      if (name === 'pathToFileURL')
        return args[0]?.kind === 'path' ? { kind: 'url', path: args[0].path } : undefined;
      if (!name || !isPathCall(node) || args.some((a) => a === undefined || a.kind === 'url'))
        return undefined;
      const parts = args as Array<Exclude<Value, { kind: 'url' }>>;
      if (name === 'dirname')
        return parts[0]?.kind === 'path'
          ? { kind: 'path', path: path.dirname(parts[0].path) }
          : parts[0] && { kind: 'text', text: path.dirname(parts[0].text) };
      if (name === 'resolve') {
        // path.resolve starts over at its last absolute part: a literal one gives a system path.
        const start = parts.findLastIndex((p) => p.kind === 'path' || path.isAbsolute(p.text));
        const texts = parts.map((p) => (p.kind === 'path' ? p.path : p.text));
        const resolved = path.resolve(this.root, ...texts);
        return start >= 0 && parts[start]!.kind === 'text'
          ? { kind: 'text', text: resolved }
          : { kind: 'path', path: resolved };
      }
      // join / normalize: anchored when the first part is a path.
      const [first, ...rest] = parts;
      if (!first) return undefined;
      if (rest.some((p) => p.kind === 'path')) return undefined;
      const tail = rest.map((p) => (p as { text: string }).text);
      return first.kind === 'path'
        ? { kind: 'path', path: path.join(first.path, ...tail) }
        : { kind: 'text', text: path.join(first.text, ...tail) };
    }
    return undefined;
  }

  /** A `const` of this module, or one imported by name from another module of the repository. */
  private constantValue(name: string, sourceFile: ts.SourceFile, seen: Set<ts.Node>): Value | undefined {
    for (const statement of sourceFile.statements) {
      if (ts.isVariableStatement(statement) && statement.declarationList.flags & ts.NodeFlags.Const) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer)
            return this.evaluate(declaration.initializer, sourceFile, seen);
        }
      }
      if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const bindings = statement.importClause?.namedBindings;
        if (!bindings || !ts.isNamedImports(bindings)) continue;
        const binding = bindings.elements.find((e) => e.name.text === name);
        if (!binding || !statement.moduleSpecifier.text.startsWith('.')) continue;
        const exported = binding.propertyName?.text ?? name;
        const target = this.moduleFile(
          path.resolve(path.dirname(sourceFile.fileName), statement.moduleSpecifier.text),
        );
        const other = target && this.source(target);
        return other ? this.constantValue(exported, other, seen) : undefined;
      }
    }
    return undefined;
  }

  /** The TypeScript file a `.js` import specifier names. */
  private moduleFile(target: string): string | undefined {
    const candidates = [
      target,
      target.replace(/\.js$/, '.ts'),
      target.replace(/\.mjs$/, '.mts'),
      `${target}.ts`,
    ];
    return candidates.find((c) => this.overrides.has(c) || (existsSync(c) && CODE.test(c)));
  }
}

function concat(a: Value | undefined, b: Value | undefined): Value | undefined {
  if (!a || !b || b.kind !== 'text' || a.kind === 'url') return undefined;
  if (a.kind === 'path') return { kind: 'path', path: path.normalize(a.path + b.text) };
  return { kind: 'text', text: a.text + b.text };
}

/** join/resolve/normalize/dirname of node:path (called bare or on `path`, `posix`, `win32`). */
function isPathCall(node: ts.CallExpression): boolean {
  const name = calleeName(node.expression);
  if (!name || !PATH_CALLS.has(name)) return false;
  if (!ts.isPropertyAccessExpression(node.expression)) return true;
  return /^(path|posix|win32|path\.posix|path\.win32)$/.test(node.expression.expression.getText());
}

function calleeName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** The specifier of an import, export or dynamic import(). */
function moduleSpecifier(node: ts.Node): ts.StringLiteral | undefined {
  if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
    return ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier : undefined;
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
    const [first] = node.arguments;
    return first && ts.isStringLiteral(first) ? first : undefined;
  }
  return undefined;
}
