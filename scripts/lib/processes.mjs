// Loopback ports and workerd processes, for the harnesses that start workers themselves and
// watch them from outside (the load test, the benchmark's investigations): a free port, the
// workerd processes under this one and their CPU time and memory, read from /proc.
import fs from 'node:fs';
import http from 'node:http';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function childrenOf(pid) {
  const kids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat);
      const ppid = Number(rest.split(' ')[1]);
      if (ppid === pid) kids.push({ pid: Number(entry), comm });
    } catch {
      // gone
    }
  }
  return kids;
}
/** The workerd processes under this one (Miniflare's, one per worker), nearest first. */
export function workerdPids(root = process.pid) {
  const found = [];
  const queue = [root];
  while (queue.length) {
    for (const kid of childrenOf(queue.shift())) {
      if (kid.comm.startsWith('workerd')) found.push(kid.pid);
      else queue.push(kid.pid);
    }
  }
  return found;
}
/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : undefined;
}
