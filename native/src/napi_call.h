/*
 * N-API argument checks and errors shared by the addon's glue files (moltnet.c, offload_napi.c): one call's
 * arguments in a call_t, typed getters that throw a clear TypeError/RangeError naming the function and the
 * argument, and errors shaped like Node's own system errors.
 *
 * Static inline, so each glue file gets its own copy at compile time and no symbol is shared between them.
 */
#ifndef MOLTNET_NAPI_CALL_H
#define MOLTNET_NAPI_CALL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <node_api.h>
#include <uv.h>

#define MAX_ARGS 12

typedef struct {
  napi_env env;
  const char *fn; /* for messages: "readBatch: ..." */
  size_t argc;
  napi_value argv[MAX_ARGS];
} call_t;

static inline bool start(call_t *c, napi_env env, napi_callback_info info, const char *fn) {
  c->argc = MAX_ARGS;
  c->env = env;
  c->fn = fn;
  /* Missing arguments read as undefined and fail their type check with a clear message. */
  return napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) == napi_ok;
}

static inline bool throw_fmt(call_t *c, bool range, const char *fmt, ...) {
  char msg[256];
  int off = snprintf(msg, sizeof msg, "%s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
  va_end(ap);
  if (range) {
    napi_throw_range_error(c->env, "ERR_OUT_OF_RANGE", msg);
  } else {
    napi_throw_type_error(c->env, "ERR_INVALID_ARG_TYPE", msg);
  }
  return false;
}

/* An Error shaped like Node's own system errors: code 'EADDRINUSE', errno -98, syscall 'bind'. */
static inline napi_value throw_errno(call_t *c, int err, const char *what, const char *syscall) {
  char name[32], text[128], msg[384];
  uv_err_name_r(-err, name, sizeof name);
  uv_strerror_r(-err, text, sizeof text);
  snprintf(msg, sizeof msg, "%s %s: %s: %s (%s)", c->fn, what, syscall, text, name);
  napi_value code, message, error, errno_value, syscall_value;
  if (napi_create_string_utf8(c->env, name, NAPI_AUTO_LENGTH, &code) == napi_ok &&
      napi_create_string_utf8(c->env, msg, NAPI_AUTO_LENGTH, &message) == napi_ok &&
      napi_create_error(c->env, code, message, &error) == napi_ok &&
      napi_create_int32(c->env, -err, &errno_value) == napi_ok &&
      napi_create_string_utf8(c->env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok) {
    napi_set_named_property(c->env, error, "errno", errno_value);
    napi_set_named_property(c->env, error, "syscall", syscall_value);
    napi_throw(c->env, error);
  } else {
    napi_throw_error(c->env, name, msg);
  }
  return NULL;
}

/* Argument i was not given, or is undefined or null. */
static inline bool is_missing(call_t *c, int i) {
  napi_valuetype t;
  return (size_t)i >= c->argc || napi_typeof(c->env, c->argv[i], &t) != napi_ok || t == napi_undefined ||
         t == napi_null;
}

/* An integer in [lo, hi]. JS numbers are doubles: reject fractions and NaN rather than truncate. */
static inline bool get_int(call_t *c, napi_value v, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  napi_valuetype t;
  double d;
  *out = 0; /* set on every path, so no caller reads an unset value (and gcc sees it) */
  if (napi_typeof(c->env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(c->env, v, &d) != napi_ok) {
    return throw_fmt(c, false, "%s must be a number", name);
  }
  if (!(d >= (double)lo && d <= (double)hi)) {
    return throw_fmt(c, true, "%s must be in [%lld, %lld], got %g", name, (long long)lo, (long long)hi, d);
  }
  if ((double)(int64_t)d != d) return throw_fmt(c, true, "%s must be an integer, got %g", name, d);
  *out = (int64_t)d;
  return true;
}

/* Option `name` of object `obj`: a boolean into *out, which is left as it is when the option is absent or
 * undefined. False (with an exception thrown) when it is something else. */
static inline bool opt_bool(call_t *c, napi_value obj, const char *name, bool *out) {
  napi_value v;
  napi_valuetype t;
  bool has = false;
  if (napi_has_named_property(c->env, obj, name, &has) != napi_ok || !has) return true;
  if (napi_get_named_property(c->env, obj, name, &v) != napi_ok || napi_typeof(c->env, v, &t) != napi_ok) return true;
  if (t == napi_undefined) return true;
  if (t != napi_boolean || napi_get_value_bool(c->env, v, out) != napi_ok) return throw_fmt(c, false, "options.%s must be a boolean", name);
  return true;
}

static inline bool arg_int(call_t *c, int i, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  return get_int(c, c->argv[i], name, lo, hi, out);
}

/* A typed array of one element type; *len counts elements. Buffer is a Uint8Array, so both are accepted. */
static inline bool arg_array(call_t *c, int i, const char *name, napi_typedarray_type want, const char *want_name,
                             void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(c->env, c->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, len, data, NULL, NULL) != napi_ok || type != want) {
    return throw_fmt(c, false, "%s must be %s", name, want_name);
  }
  return true;
}

static inline bool arg_bytes(call_t *c, int i, const char *name, uint8_t **data, size_t *len) {
  return arg_array(c, i, name, napi_uint8_array, "a Buffer or Uint8Array", (void **)data, len);
}

static inline bool arg_i32s(call_t *c, int i, const char *name, int32_t **data, size_t *len) {
  return arg_array(c, i, name, napi_int32_array, "an Int32Array", (void **)data, len);
}

static inline napi_value ret_int(call_t *c, int64_t v) {
  napi_value out;
  napi_create_int64(c->env, v, &out);
  return out;
}

#endif
