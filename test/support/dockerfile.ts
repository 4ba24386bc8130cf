// The final stage of a Dockerfile: what the image it builds runs as, and how it starts.

export interface DockerfileStage {
  user?: string;
  workdir?: string;
  entrypoint?: unknown;
  cmd?: unknown;
  /** ENV lines in the `NAME=value` form. */
  env?: Record<string, string>;
}

/** The final stage's USER, WORKDIR, ENV, ENTRYPOINT and CMD (exec form, as JSON) of a Dockerfile. */
export function finalStage(dockerfile: string): DockerfileStage {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: DockerfileStage[] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') stages.push({});
    const stage = stages.at(-1);
    if (!stage) continue;
    if (upper === 'USER') stage.user = argument;
    if (upper === 'WORKDIR') stage.workdir = argument;
    if (upper === 'ENTRYPOINT') stage.entrypoint = JSON.parse(argument);
    if (upper === 'CMD') stage.cmd = JSON.parse(argument);
    if (upper === 'ENV') {
      const [name = '', ...value] = argument.split('=');
      stage.env = { ...stage.env, [name]: value.join('=') };
    }
  }
  const last = stages.at(-1);
  if (!last) throw new Error('the Dockerfile has no FROM');
  return last;
}
