// The precise timer (timer.cc): a timerfd watched by a uv_poll_t.
#pragma once
#include <napi.h>

namespace kad {
Napi::Function InitTimer(Napi::Env env);
}
