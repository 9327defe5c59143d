// One agent of the stress scenarios (test/helpers/stress.mjs), in its own process so that it really
// runs at the same time as the daemon. Plain JavaScript with no imports outside node:, so the test and
// the benchmark both spawn this file as it is.
//
//   node stress-agent.mjs requester <lock dir> <count> <min ms> <max ms> <log> [<log> ...]
//     appends `request N` and a ```js req_N() ``` fence to the logs in turn, pausing min..max ms.
//   node stress-agent.mjs editor <lock dir> <count> <min ms> <max ms> <log> <save> <place> <prefix>
//     reads the log, adds the line `<prefix> K`, re-stats the log and starts over if it changed since
//     the read, then saves: <save> `rename` writes `.<name>.editor-tmp` next to the log and renames it
//     over the log (an editor's safe save); `in-place` truncates and writes the log (an Edit tool).
//     <place> `end` adds the line at the end; `alternate` puts every other line after a random
//     `history line` of the log instead.
//
// Agents of one scenario never race each other, only the daemon: each holds a lock per log (a folder
// in <lock dir>) from its read to its write, as one agent's tool calls follow each other. Only the
// daemon knows nothing of the lock. On exit the agent prints one JSON line: what it did.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const [role, lockDir, countText, minText, maxText, ...rest] = process.argv.slice(2);
const count = Number(countText);
const [minMs, maxMs] = [Number(minText), Number(maxText)];
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(sleeper, 0, 0, ms);
const pause = () => sleep(minMs + Math.random() * (maxMs - minMs));

function withLock(log, work) {
  const lock = join(lockDir, `${basename(log)}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      sleep(0.2);
    }
  }
  try {
    return work();
  } finally {
    rmdirSync(lock);
  }
}

/** What an editor compares to see that the file changed on disk: which file, its size and mtime. */
function version(path) {
  const stat = statSync(path, { bigint: true });
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

function requester(logs) {
  for (let index = 0; index < count; index++) {
    const log = logs[index % logs.length];
    withLock(log, () => appendFileSync(log, `request ${index}\n\`\`\`js\nreq_${index}()\n\`\`\`\n`));
    pause();
  }
  return { requests: count };
}

function withLine(text, line, place, index) {
  const lines = text.split('\n');
  if (place === 'alternate' && index % 2 === 0) {
    const history = [];
    lines.forEach((each, at) => each.startsWith('history line ') && history.push(at));
    if (history.length > 0) {
      lines.splice(history[Math.floor(Math.random() * history.length)] + 1, 0, line);
      return { text: lines.join('\n'), where: 'middle' };
    }
  }
  // A mid-file edit that finds no history line goes to the end, and is counted as such.
  const where = place === 'alternate' && index % 2 === 0 ? 'no history' : 'end';
  return { text: `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`, where };
}

function editor([log, save, place, prefix]) {
  const temp = join(dirname(log), `.${basename(log)}.editor-tmp`);
  let restarts = 0;
  let middle = 0;
  const withoutHistory = [];
  for (let index = 0; index < count; index++) {
    for (;;) {
      const saved = withLock(log, () => {
        const before = version(log);
        const text = readFileSync(log, 'utf8');
        if (version(log) !== before) return false;
        const edit = withLine(text, `${prefix} ${index}`, place, index);
        if (save === 'rename') {
          writeFileSync(temp, edit.text);
          if (version(log) !== before) {
            unlinkSync(temp);
            return false;
          }
          renameSync(temp, log);
        } else {
          if (version(log) !== before) return false;
          writeFileSync(log, edit.text);
        }
        if (edit.where === 'middle') middle++;
        // The history is never the daemon's to drop: a log read without it is worth reporting.
        if (edit.where === 'no history') withoutHistory.push(`${prefix} ${index} read ${text.length} characters: ${JSON.stringify(text.slice(0, 120))}`);
        return true;
      });
      if (saved) break;
      restarts++;
    }
    pause();
  }
  return { edits: count, middle, restarts, withoutHistory };
}

if (role === 'requester') process.stdout.write(`${JSON.stringify(requester(rest))}\n`);
else if (role === 'editor') process.stdout.write(`${JSON.stringify(editor(rest))}\n`);
else throw new Error(`unknown agent role ${role}`);
