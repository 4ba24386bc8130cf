import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');

/** The diagnostics the project's tsconfig.json gives for one source text. */
function diagnosticsOf(source: string): string[] {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const fileName = join(ROOT, 'src', '__probe__.ts');
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version) =>
    name === fileName ? ts.createSourceFile(name, source, version) : read(name, version);
  const program = ts.createProgram([fileName], { ...options, noEmit: true }, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === fileName)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('typecheck refuses a private method nobody calls and an unused local', () => {
  const problems = diagnosticsOf(`
export class Recorder {
  run(): number { return 1; }
  private record(): void {}
}
export function f(): number { const unused = 2; return 1; }
`);
  assert.deepEqual(problems.sort(), [
    "'record' is declared but its value is never read.",
    "'unused' is declared but its value is never read.",
  ]);
});
