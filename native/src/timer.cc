// Timer: one-shot wake-ups with microsecond accuracy, for the scheduler's 'fine' timers (VRRP adverts, BFD).
//
// libuv's timers have millisecond resolution (they are epoll_wait's timeout), so a deadline inside a millisecond
// could only be met by waking early and spinning. A timerfd on CLOCK_MONOTONIC (the clock performance.now()
// reads) is a kernel hrtimer with nanosecond resolution and no slack; a uv_poll_t watches it, so the wait is the
// loop's own epoll_wait and the expiry arrives in the poll phase like a packet: one read() to clear it, one call
// into JavaScript. No thread.
//
// Waking a sleeping thread is not free: on this project's 2-vCPU KVM guest the wake-up itself (timer interrupt
// into a halted vCPU, then the scheduler) takes 70-100 us at the median and 200-450 us at p99 for a SCHED_RR
// thread, measured with a C loop on a timerfd. The optional spin lead covers that: the timerfd fires spinMs early
// and the callback waits out the rest reading CLOCK_MONOTONIC, so the JavaScript runs within a microsecond of
// the deadline whenever the wake-up took less than the lead, for spinMs of CPU per expiry at most.
//
// PR_SET_TIMERSLACK 1 ns is set once, on the loop thread, when the first Timer is made: the kernel otherwise
// defers that thread's epoll_wait time-outs (libuv's millisecond timers) by up to 50 us to coalesce wake-ups.
// (A SCHED_RR/FIFO thread has no slack anyway; the timerfd itself never had any.)
//
//   new Timer(callback)  a timerfd and its poll handle; not armed; does not keep the loop alive
//   arm(delayMs, spinMs?) (re)arm: callback() once, delayMs from now (fractions allowed; <= 0: at once, on the
//                        loop's next poll), never earlier; while armed it keeps the loop alive. With spinMs the
//                        timerfd expires that much before the deadline and the poll callback busy-waits the rest
//                        (see below); callback(wokeLateUs) learns how late the thread woke after the expiry
//   disarm()             cancel; the loop may exit
//   close()              disarm, stop polling, close the fd; a second close does nothing; arm() then throws EBADF
//   fd                   the timerfd, -1 once closed (tests)
#include "timer.h"

#include "common.h"

#include <uv.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace kad {
namespace {

class Timer : public Napi::ObjectWrap<Timer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Timer",
                       {
                           InstanceAccessor<&Timer::GetFd>("fd"),
                           InstanceMethod<&Timer::Arm>("arm"),
                           InstanceMethod<&Timer::Disarm>("disarm"),
                           InstanceMethod<&Timer::Close>("close"),
                       });
  }

  explicit Timer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Timer>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "Timer(callback) takes a function").ThrowAsJavaScriptException();
      return;
    }
    static bool slackSet = false;
    if (!slackSet) {
      slackSet = true;
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // best effort: a failure only costs the default slack
    }
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
      ErrnoError(env, errno, "timerfd_create").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd);
    if (rc == 0) rc = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      close(fd);
      ErrnoError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
      return;
    }
    poll_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    fd_ = fd;
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  }

  // Finalizer path (GC or environment teardown): release OS resources only, never touch JS references. An armed
  // timer holds a reference to its JS object, so only a disarmed or closed one gets here.
  ~Timer() override { Release(); }

 private:
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  bool armed_ = false;
  int64_t deadline_ = 0;  // CLOCK_MONOTONIC ns
  int64_t wake_ = 0;      // when the timerfd expires: deadline_ minus the spin lead
  Napi::FunctionReference callback_;

  static int64_t MonotonicNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ErrnoError(env, EBADF, "timerfd_settime").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!info[0].IsNumber() || !(info[1].IsNumber() || info[1].IsUndefined())) {
      Napi::TypeError::New(env, "arm(delayMs, spinMs?) takes numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // whole nanoseconds, rounded up (never early); bounded to ~31 years (also turns NaN into "at once")
    auto toNs = [](double ms) { return ms > 0 ? static_cast<int64_t>(fmin(ceil(ms * 1e6), 1e18)) : 0; };
    int64_t delay = toNs(info[0].As<Napi::Number>().DoubleValue());
    int64_t spin = info[1].IsNumber() ? toNs(info[1].As<Napi::Number>().DoubleValue()) : 0;
    deadline_ = MonotonicNs() + delay;
    int64_t wake = deadline_ - (spin < delay ? spin : delay);
    wake_ = wake;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(wake / 1000000000LL);
    spec.it_value.tv_nsec = static_cast<long>(wake % 1000000000LL);
    // absolute: a wake-up time already past expires at once (it is never 0, which would disarm)
    if (timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
      ErrnoError(env, errno, "timerfd_settime").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!armed_) {
      armed_ = true;
      uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
      Ref();
    }
    return env.Undefined();
  }

  Napi::Value Disarm(const Napi::CallbackInfo& info) {
    if (fd_ >= 0 && armed_) {
      itimerspec zero{};
      timerfd_settime(fd_, 0, &zero, nullptr);
      Unarmed();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (armed_) Unarmed();
    Release();
    callback_.Reset();
    return info.Env().Undefined();
  }

  void Unarmed() {
    armed_ = false;
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Unref();
  }

  void Release() {
    ClosePoll(poll_);
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnReadable(uv_poll_t* handle, int /*status*/, int /*events*/) {
    Timer* self = static_cast<Timer*>(handle->data);
    if (self != nullptr) self->Expired();
  }

  void Expired() {
    uint64_t count = 0;
    // EAGAIN: re-armed or disarmed after it became readable in this loop turn; nothing expired
    if (read(fd_, &count, sizeof count) != sizeof count || !armed_) return;
    int64_t woke = MonotonicNs();
    // the spin lead: wait out what is left of it on the CPU (clock_gettime is a vDSO call, no system call)
    while (MonotonicNs() < deadline_) {
    }
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object recv = Value();  // held by this scope: the reference turns weak below
    Unarmed();
    // how late the thread woke, in whole microseconds (a small integer: no allocation)
    callback_.MakeCallback(recv, {Napi::Number::New(env, static_cast<double>((woke - wake_) / 1000))});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }
};

}  // namespace

Napi::Function InitTimer(Napi::Env env) { return Timer::Init(env); }

}  // namespace kad
