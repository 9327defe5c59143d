// The stress count of the soak scenarios (test/daemon/write-races.test.ts, `npm run stress`): it finds each
// kind of loss, and nothing in logs that kept everything in any order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countStress, stressProblems } from '../helpers/stress.mjs';

const footer = `${'-'.repeat(70)}\n> Append your JavaScript snippet below to execute against this page.\n\n\n`;
const request = (index: number, replies: number) => `request ${index}\n\`\`\`js\nreq_${index}()\n\`\`\`\n` + `#### 👍tab to agent at 08:00:00 (1ms)\n\`\`\`JSON\n"req_${index}()"\n\`\`\`\n`.repeat(replies);

test('the stress count finds nothing wrong in logs that kept everything, in any order', () => {
  // Agent lines from different writers may end up anywhere: only presence and uniqueness count.
  const tab = `# tab\neditor line 1\nhistory line 1: x\n${request(2, 1)}history line 0: x\n${request(0, 1)}editor line 0\n${footer}`;
  const worker = `# tab-webworker\n${request(3, 1)}history line 1: x\nhistory line 0: x\n${request(1, 1)}${footer}`;
  const report = countStress('editor safe saves', { tab, 'tab-webworker': worker }, { tab: ['req_2()', 'req_0()'], 'tab-webworker': ['req_1()', 'req_3()'] }, { requests: 4, edits: 2, historyLines: 2 });
  assert.deepEqual(stressProblems(report), []);
});

test('the stress count finds each kind of loss when the logs show it', () => {
  const tab = `# tab\nhistory line 0: x\nhistory line 1: x\nhistory line 1: x\n${request(0, 1)}${request(2, 2)}editor line 0\n#### 👍tab to agent at 08:00:01\nexecuting (0s)\n${footer}`;
  const worker = `# tab-webworker\nhistory line 0: x\n${request(1, 0)}#### 🚫tab-webworker to agent at 08:00:00 (2.0s)\n\`\`\`Error\nError: no answer\n\`\`\`\n"req_0()"\n`;
  const report = countStress('editor safe saves', { tab, 'tab-webworker': worker }, { tab: ['req_0()', 'req_2()', 'req_2()', 'oops'], 'tab-webworker': [] }, { requests: 4, edits: 2, historyLines: 2 });
  assert.deepEqual(report, {
    lostLines: ['tab.md: editor line 1', 'tab-webworker.md: history line 1:', 'tab-webworker.md: request 3', 'tab-webworker.md: req_3()'],
    duplicatedLines: ['tab.md: history line 1: (2 times)'],
    lostReplies: ['req_1() in tab-webworker.md', 'req_3() in tab-webworker.md'],
    doubleReplies: ['req_2() in tab.md (2 replies)'],
    strayReplies: ['req_0() answered in tab-webworker.md'],
    failedReplies: ['tab-webworker.md line 7: #### 🚫tab-webworker to agent at 08:00:00 (2.0s) ```Error Error: no answer ```'],
    markersLeft: ['tab.md line 27: #### 👍tab to agent at 08:00:01 / executing (0s)'],
    footers: ['tab-webworker.md has 0 footers'],
    neverRan: ['req_1() in tab-webworker', 'req_3() in tab-webworker'],
    ranTwice: ['req_2() in tab (2 times)'],
    unknownJobs: ['tab ran "oops"'],
  });
});
