// Shared by the addon's sources: errors from failed system calls, thrown into JavaScript with Node's own shape
// (code, errno, syscall), and the release of a libuv poll handle.
#pragma once
#include <napi.h>
#include <uv.h>

#include <cstring>
#include <string>

namespace kad {

inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
  const char* name = strerrorname_np(err);
  std::string code = name ? name : ("E" + std::to_string(err));
  std::string msg = std::string(syscall) + " " + code + ": " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// Stops and closes a poll handle (freed once libuv is done with it) and clears the pointer; null does nothing.
inline void ClosePoll(uv_poll_t*& poll) {
  if (poll == nullptr) return;
  uv_poll_stop(poll);
  poll->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll = nullptr;
}

}  // namespace kad
