/* Helpers shared by every file of the addon: argument reading, error building, exporting. */
#include "common.h"

#include <stdio.h>
#include <string.h>

void memmap_throw_napi_failure(napi_env env, napi_status status, const char *call) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *why = info != NULL && info->error_message != NULL ? info->error_message : "unknown Node-API failure";
  char message[512];
  snprintf(message, sizeof message, "memmap addon: %s failed (status %d): %s", call, (int)status, why);
  napi_throw_error(env, "ERR_MEMMAP_NAPI", message);
}

napi_value memmap_errno_error(napi_env env, int error_number, const char *syscall) {
  napi_value message, error, errno_value, syscall_value;
  char text[256];
  snprintf(text, sizeof text, "%s failed: %s", syscall, strerror(error_number));
  NAPI_CALL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message));
  NAPI_CALL(env, napi_create_error(env, NULL, message, &error));
  NAPI_CALL(env, napi_create_int32(env, error_number, &errno_value));
  NAPI_CALL(env, napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value));
  NAPI_CALL(env, napi_set_named_property(env, error, "errno", errno_value));
  NAPI_CALL(env, napi_set_named_property(env, error, "syscall", syscall_value));
  return error;
}

napi_value memmap_throw_errno(napi_env env, int error_number, const char *syscall) {
  napi_value error = memmap_errno_error(env, error_number, syscall);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

bool memmap_get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    memmap_throw_napi_failure(env, napi_generic_failure, "napi_get_cb_info");
    return false;
  }
  assert(argc == count && "the TypeScript layer passes every argument");
  return true;
}

bool memmap_get_int64(napi_env env, napi_value value, int64_t *out) {
  napi_status status = napi_get_value_int64(env, value, out);
  if (status != napi_ok) memmap_throw_napi_failure(env, status, "napi_get_value_int64");
  return status == napi_ok;
}

bool memmap_get_int32(napi_env env, napi_value value, int32_t *out) {
  napi_status status = napi_get_value_int32(env, value, out);
  if (status != napi_ok) memmap_throw_napi_failure(env, status, "napi_get_value_int32");
  return status == napi_ok;
}

bool memmap_get_bool(napi_env env, napi_value value, bool *out) {
  napi_status status = napi_get_value_bool(env, value, out);
  if (status != napi_ok) memmap_throw_napi_failure(env, status, "napi_get_value_bool");
  return status == napi_ok;
}

bool memmap_get_bytes(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_arraybuffer = false;
  napi_status status = napi_is_arraybuffer(env, value, &is_arraybuffer);
  if (status == napi_ok && is_arraybuffer) {
    status = napi_get_arraybuffer_info(env, value, data, length);
  } else if (status == napi_ok) {
    napi_typedarray_type type;
    size_t element_count;
    napi_value arraybuffer;
    size_t byte_offset;
    status = napi_get_typedarray_info(env, value, &type, &element_count, data, &arraybuffer, &byte_offset);
    if (status == napi_ok) {
      size_t element_size = 1;
      switch (type) {
      case napi_int16_array:
      case napi_uint16_array:
        element_size = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        element_size = 4;
        break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array:
        element_size = 8;
        break;
      default:
        element_size = 1;
        break;
      }
      *length = element_count * element_size;
    }
  }
  if (status != napi_ok) memmap_throw_napi_failure(env, status, "memmap_get_bytes");
  return status == napi_ok;
}

napi_value memmap_int64(napi_env env, int64_t value) {
  napi_value result;
  NAPI_CALL(env, napi_create_int64(env, value, &result));
  return result;
}

napi_value memmap_undefined(napi_env env) {
  napi_value result;
  NAPI_CALL(env, napi_get_undefined(env, &result));
  return result;
}

bool memmap_export(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &fn) != napi_ok) return false;
  return napi_set_named_property(env, exports, name, fn) == napi_ok;
}
