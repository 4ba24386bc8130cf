// Runs a command-line tool (kubectl, helm, promtool, bash) against the test plane and collects
// its exit code and output.
import { spawn } from 'node:child_process';
import { testEnv } from './env.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool against the plane (KUBECONFIG is the plane's admin unless `env` says otherwise),
 * with its own HOME-like dirs for helm's caches, and resolves with its exit code and output.
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, KUBECONFIG: testEnv().kubeconfigPath, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a tool and fails with its output unless it exits 0; resolves with its stdout. */
export async function runToolOk(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await runTool(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result.stdout;
}
