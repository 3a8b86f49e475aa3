// Starts `wrangler dev` on loopback, as a developer runs it, for the browser tests.
import { spawn } from 'node:child_process';
import { ROOT } from './worker.mjs';

/** Starts wrangler dev on `port` with extra `--var NAME:VALUE` settings; resolves once healthy. */
export async function startDevServer({ port = 8790, vars = {}, persistTo } = {}) {
  // As scripts/dev.sh does: the D1 migrations on the local state first (statistics are
  // written at once in local development).
  await new Promise((resolve, reject) => {
    const apply = spawn('wrangler', ['d1', 'migrations', 'apply', 'CONSENT_DB', '--local', ...(persistTo ? ['--persist-to', persistTo] : [])], { cwd: ROOT, env: process.env, stdio: 'ignore' });
    apply.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wrangler d1 migrations apply exited ${code}`))));
  });
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false', '--log-level', 'warn'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  if (persistTo) args.push('--persist-to', persistTo);
  const child = spawn('wrangler', args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      const res = await fetch(`${url}/_consent/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid, 'SIGTERM');
      throw new Error(`wrangler dev did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    },
  };
}
