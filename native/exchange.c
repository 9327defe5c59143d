/*
 * exchange(a, b): swaps two paths in one step with renameat2(RENAME_EXCHANGE) (Linux 3.15+). daebug
 * puts a new version of a log in place with it, so that whatever file was at the log's name at that
 * instant (an editor's save included) comes out under the temp file's name instead of being dropped.
 * Returns 0, or the errno of the failure (ENOSYS, EINVAL where the kernel or filesystem has no exchange).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define MAX_PATH_BYTES 4096

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
#ifdef SYS_renameat2
    result = syscall(SYS_renameat2, AT_FDCWD, first, AT_FDCWD, second, RENAME_EXCHANGE) == 0 ? 0 : errno;
#else
    result = ENOSYS;
#endif
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
