// Runs the system call of native/exchange.c as each CPU's build makes it, under qemu-user where the CPU
// is not this machine's: two files swapped, and ENOENT for a missing one. A check for whoever changes
// exchange.c (the prebuilt builds are not loaded by Node here). Needs Debian's gcc-aarch64-linux-gnu,
// gcc-arm-linux-gnueabihf and qemu-user-static.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'daebug-exchange-'));
mkdirSync(join(dir, 'include'));
// Just enough of node_api.h for exchange.c to compile; only its system call runs.
writeFileSync(join(dir, 'include', 'node_api.h'), ['#include <stddef.h>', 'typedef int napi_status; typedef void *napi_env, *napi_value, *napi_callback_info;', '#define napi_ok 0', '#define NAPI_AUTO_LENGTH ((size_t)-1)', 'static napi_status napi_get_cb_info(napi_env e, napi_callback_info i, size_t *c, napi_value *v, void *a, void *b) { return 1; }', 'static napi_status napi_get_value_string_utf8(napi_env e, napi_value v, char *b, size_t s, size_t *l) { return 1; }', 'static napi_status napi_create_int32(napi_env e, int v, napi_value *r) { return 0; }', 'static napi_status napi_create_function(napi_env e, const char *n, size_t l, napi_value (*f)(napi_env, napi_callback_info), void *d, napi_value *r) { return 0; }', 'static napi_status napi_set_named_property(napi_env e, napi_value o, const char *n, napi_value v) { return 0; }', '#define NAPI_MODULE_INIT() napi_value init_module(napi_env env, napi_value exports)', ''].join('\n'));
writeFileSync(join(dir, 'main.c'), [`#include "${join(here, 'exchange.c')}"`, '#include <stdio.h>', 'int main(void) {', '  FILE *f = fopen("a", "w"); fputs("A", f); fclose(f);', '  f = fopen("b", "w"); fputs("B", f); fclose(f);', '  long swapped = renameat2_exchange("a", "b");', '  f = fopen("a", "r"); int c = fgetc(f); fclose(f);', '  printf("%ld %c %ld\\n", swapped, c, renameat2_exchange("a", "missing"));', '  return 0;', '}', ''].join('\n'));
const targets = [['x64', 'gcc', []], ['arm64', 'aarch64-linux-gnu-gcc', ['qemu-aarch64-static']], ['arm', 'arm-linux-gnueabihf-gcc', ['qemu-arm-static']]];
let failed = false;
for (const [arch, compiler, runner] of targets) {
  const program = join(dir, `check-${arch}`);
  const built = spawnSync(compiler, ['-O2', '-static', `-I${join(dir, 'include')}`, join(dir, 'main.c'), '-o', program], { encoding: 'utf8' });
  const ran = built.status === 0 ? spawnSync(runner[0] ?? program, runner.length > 0 ? [program] : [], { cwd: dir, encoding: 'utf8' }) : null;
  const ok = ran?.stdout.trim() === '0 B -2';
  failed ||= !ok;
  console.log(`${arch}: ${ok ? 'swapped, ENOENT for a missing file' : `FAILED ${built.stderr || ran?.stderr || ran?.stdout}`}`);
}
process.exit(failed ? 1 : 0);
