/*
 * exchange(a, b): swaps two paths in one step with renameat2(RENAME_EXCHANGE) (Linux 3.15+). daebug
 * puts a new version of a log in place with it, so that whatever file was at the log's name at that
 * instant (an editor's save included) comes out under the temp file's name instead of being dropped.
 * Returns 0, or the errno of the failure (ENOSYS, EINVAL where the kernel or filesystem has no exchange).
 *
 * It makes the system call itself and links no C library: one build per CPU serves glibc and musl
 * systems alike (native/build.mjs, native/prebuilt/). Node-API's functions come from the node process.
 */
#include <node_api.h>

#define AT_FDCWD (-100)
#define RENAME_EXCHANGE (1 << 1)
#define EINVAL 22
#define ENOSYS 38
#define MAX_PATH_BYTES 4096

/* renameat2(AT_FDCWD, first, AT_FDCWD, second, RENAME_EXCHANGE): 0, or minus the errno. */
static long renameat2_exchange(const char *first, const char *second) {
#if defined(__x86_64__)
  register long nr __asm__("rax") = 316;
  register long a1 __asm__("rdi") = AT_FDCWD;
  register long a2 __asm__("rsi") = (long)first;
  register long a3 __asm__("rdx") = AT_FDCWD;
  register long a4 __asm__("r10") = (long)second;
  register long a5 __asm__("r8") = RENAME_EXCHANGE;
  __asm__ volatile("syscall" : "+r"(nr) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5) : "rcx", "r11", "memory");
  return nr;
#elif defined(__aarch64__)
  register long nr __asm__("x8") = 276;
  register long a1 __asm__("x0") = AT_FDCWD;
  register long a2 __asm__("x1") = (long)first;
  register long a3 __asm__("x2") = AT_FDCWD;
  register long a4 __asm__("x3") = (long)second;
  register long a5 __asm__("x4") = RENAME_EXCHANGE;
  __asm__ volatile("svc 0" : "+r"(a1) : "r"(nr), "r"(a2), "r"(a3), "r"(a4), "r"(a5) : "memory");
  return a1;
#elif defined(__arm__) && defined(__ARM_EABI__)
  register long nr __asm__("r7") = 382;
  register long a1 __asm__("r0") = AT_FDCWD;
  register long a2 __asm__("r1") = (long)first;
  register long a3 __asm__("r2") = AT_FDCWD;
  register long a4 __asm__("r3") = (long)second;
  register long a5 __asm__("r4") = RENAME_EXCHANGE;
  __asm__ volatile("svc 0" : "+r"(a1) : "r"(nr), "r"(a2), "r"(a3), "r"(a4), "r"(a5) : "memory");
  return a1;
#else
  (void)first;
  (void)second;
  return -ENOSYS;
#endif
}

static napi_value exchange(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char first[MAX_PATH_BYTES];
  char second[MAX_PATH_BYTES];
  size_t length = 0;
  int result = EINVAL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2 &&
      napi_get_value_string_utf8(env, argv[0], first, sizeof first, &length) == napi_ok && length < sizeof first - 1 &&
      napi_get_value_string_utf8(env, argv[1], second, sizeof second, &length) == napi_ok && length < sizeof second - 1) {
    result = (int)-renameat2_exchange(first, second);
  }
  napi_value answer;
  napi_create_int32(env, result, &answer);
  return answer;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "exchange", NAPI_AUTO_LENGTH, exchange, NULL, &function);
  napi_set_named_property(env, exports, "exchange", function);
  return exports;
}
