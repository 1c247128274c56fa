// kad_native: the thinnest layer kad needs between Node.js and the Linux socket API.
//
// Everything that is protocol (sockaddr layouts, netlink, ARP, ND) lives in TypeScript. This file only:
//   - opens sockets (optionally inside another network namespace: setns around socket() on this thread),
//   - passes raw sockaddr bytes to bind()/sendmsg(), raw option bytes to setsockopt()/getsockopt(),
//   - builds / parses the few control messages kad needs (TTL, hop limit, packet info),
//   - drives non-blocking reads with a uv_poll_t: when the fd is readable, drain up to `batch` datagrams
//     into one JavaScript callback (no threads, no busy loop),
//   - maps errno to JavaScript errors { code: 'EPERM', errno: -1, syscall: 'socket' },
//   - runs many short non-blocking TCP connections (Streams: health checks) on one epoll set polled by libuv,
//     reporting every readiness of a loop turn in one JavaScript call through a shared Int32Array.
#include <napi.h>
#include <uv.h>

#include "timer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
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

// Runs fn() with the calling thread inside the network namespace at `path` (empty: no switch).
// Returns 0 or an errno; on failure `failedCall` names the syscall.
template <typename F>
int WithNetns(const std::string& path, const char** failedCall, F fn) {
  if (path.empty()) {
    fn();
    return 0;
  }
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    *failedCall = "open";
    return errno;
  }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    *failedCall = "open";
    return e;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int e = errno;
    close(target);
    close(self);
    *failedCall = "setns";
    return e;
  }
  fn();
  int saved = errno;
  if (setns(self, CLONE_NEWNET) != 0) {
    // Staying in the wrong namespace would silently misdirect every later socket: refuse to continue.
    fprintf(stderr, "kad_native: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(target);
  close(self);
  errno = saved;
  return 0;
}

bool NeedType(Napi::Env env, bool ok, const char* what) {
  if (!ok) Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return ok;
}

std::string OptString(const Napi::Value& v) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  return "";
}

class Socket : public Napi::ObjectWrap<Socket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Socket",
                       {
                           InstanceAccessor<&Socket::GetFd>("fd"),
                           InstanceMethod<&Socket::Bind>("bind"),
                           InstanceMethod<&Socket::Connect>("connect"),
                           InstanceMethod<&Socket::SetOption>("setOption"),
                           InstanceMethod<&Socket::GetOption>("getOption"),
                           InstanceMethod<&Socket::Send>("send"),
                           InstanceMethod<&Socket::Start>("start"),
                           InstanceMethod<&Socket::Stop>("stop"),
                           InstanceMethod<&Socket::Ref>("ref"),
                           InstanceMethod<&Socket::Unref>("unref"),
                           InstanceMethod<&Socket::Close>("close"),
                       });
  }

  // new Socket(domain, type, protocol, netnsPath?)
  explicit Socket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Socket>(info) {
    Napi::Env env = info.Env();
    if (!NeedType(env, info[0].IsNumber() && info[1].IsNumber() && info[2].IsNumber(), "Socket(domain, type, protocol, netns?) takes numbers")) return;
    domain_ = info[0].As<Napi::Number>().Int32Value();
    int type = info[1].As<Napi::Number>().Int32Value();
    int protocol = info[2].As<Napi::Number>().Int32Value();
    std::string ns = info.Length() > 3 ? OptString(info[3]) : "";
    const char* failed = "socket";
    int fd = -1;
    int err = WithNetns(ns, &failed, [&]() { fd = socket(domain_, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol); });
    if (err != 0) {
      ErrnoError(env, err, failed, ns).ThrowAsJavaScriptException();
      return;
    }
    if (fd < 0) {
      ErrnoError(env, errno, "socket").ThrowAsJavaScriptException();
      return;
    }
    fd_ = fd;
  }

  // Finalizer path (GC or environment teardown): release OS resources only, never touch JS references.
  ~Socket() override {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  int domain_ = 0;
  uv_poll_t* poll_ = nullptr;
  bool refed_ = true;
  Napi::FunctionReference callback_;
  std::vector<uint8_t> buf_;
  uint32_t batch_ = 64;

  bool CheckOpen(Napi::Env env) {
    if (fd_ < 0) {
      ErrnoError(env, EBADF, "socket", "socket is closed").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  // bind(sockaddr: Buffer) / connect(sockaddr: Buffer)
  Napi::Value Bind(const Napi::CallbackInfo& info) { return WithSockaddr(info, ::bind, "bind"); }
  Napi::Value Connect(const Napi::CallbackInfo& info) { return WithSockaddr(info, ::connect, "connect"); }

  Napi::Value WithSockaddr(const Napi::CallbackInfo& info, int (*call)(int, const sockaddr*, socklen_t), const char* name) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !NeedType(env, info[0].IsBuffer(), "bind/connect(sockaddr) takes a Buffer")) return env.Undefined();
    auto sa = info[0].As<Napi::Buffer<uint8_t>>();
    if (call(fd_, reinterpret_cast<const sockaddr*>(sa.Data()), static_cast<socklen_t>(sa.Length())) != 0)
      ErrnoError(env, errno, name).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // setOption(level, name, value: number | Buffer)
  Napi::Value SetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !NeedType(env, info[0].IsNumber() && info[1].IsNumber() && (info[2].IsNumber() || info[2].IsBuffer()), "setOption(level, name, number | Buffer)")) return env.Undefined();
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    int rc;
    if (info[2].IsBuffer()) {
      auto b = info[2].As<Napi::Buffer<uint8_t>>();
      rc = setsockopt(fd_, level, name, b.Data(), static_cast<socklen_t>(b.Length()));
    } else {
      int v = info[2].As<Napi::Number>().Int32Value();
      rc = setsockopt(fd_, level, name, &v, sizeof v);
    }
    if (rc != 0) ErrnoError(env, errno, "setsockopt").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // getOption(level, name, maxLength) -> Buffer (the bytes the kernel returned)
  Napi::Value GetOption(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !NeedType(env, info[0].IsNumber() && info[1].IsNumber() && info[2].IsNumber(), "getOption(level, name, maxLength)")) return env.Undefined();
    int level = info[0].As<Napi::Number>().Int32Value();
    int name = info[1].As<Napi::Number>().Int32Value();
    uint32_t max = info[2].As<Napi::Number>().Uint32Value();
    if (max > 65536) max = 65536;
    std::vector<uint8_t> out(max ? max : 4);
    socklen_t len = static_cast<socklen_t>(out.size());
    if (getsockopt(fd_, level, name, out.data(), &len) != 0) {
      ErrnoError(env, errno, "getsockopt").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (len > out.size()) len = static_cast<socklen_t>(out.size());
    return Napi::Buffer<uint8_t>::Copy(env, out.data(), len);
  }

  // send(data: Buffer | Buffer[], dest: Buffer | null, ttl: number (-1 none), hopLimit: number (-1 none),
  //      ifindex: number (0 none), src: Buffer | null) -> bytes sent
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    std::vector<iovec> iov;
    if (info[0].IsArray()) {
      Napi::Array arr = info[0].As<Napi::Array>();
      uint32_t n = arr.Length();
      if (n > 1024) n = 1024;
      iov.reserve(n);
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value v = arr.Get(i);
        if (!NeedType(env, v.IsBuffer(), "send(data) takes Buffers")) return env.Undefined();
        auto b = v.As<Napi::Buffer<uint8_t>>();
        iov.push_back({b.Data(), b.Length()});
      }
    } else {
      if (!NeedType(env, info[0].IsBuffer(), "send(data) takes a Buffer")) return env.Undefined();
      auto b = info[0].As<Napi::Buffer<uint8_t>>();
      iov.push_back({b.Data(), b.Length()});
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    if (info.Length() > 1 && info[1].IsBuffer()) {
      auto d = info[1].As<Napi::Buffer<uint8_t>>();
      msg.msg_name = d.Data();
      msg.msg_namelen = static_cast<socklen_t>(d.Length());
    }
    int ttl = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
    int hop = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
    int ifindex = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
    const uint8_t* src = nullptr;
    size_t srcLen = 0;
    if (info.Length() > 5 && info[5].IsBuffer()) {
      auto s = info[5].As<Napi::Buffer<uint8_t>>();
      src = s.Data();
      srcLen = s.Length();
    }
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo))];
    memset(control, 0, sizeof control);
    size_t used = 0;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    // Appends one control message; the buffer is sized for the two kad ever sends.
    auto put = [&](int level, int type, const void* data, size_t len) {
      c->cmsg_level = level;
      c->cmsg_type = type;
      c->cmsg_len = CMSG_LEN(len);
      memcpy(CMSG_DATA(c), data, len);
      used += CMSG_SPACE(len);
      c = CMSG_NXTHDR(&msg, c);
    };
    if (domain_ == AF_INET) {
      if (ttl >= 0) put(IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
      if (ifindex > 0 || srcLen == 4) {
        in_pktinfo pi{};
        pi.ipi_ifindex = ifindex;
        if (srcLen == 4) memcpy(&pi.ipi_spec_dst, src, 4);
        put(IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
      }
    } else if (domain_ == AF_INET6) {
      if (hop >= 0) put(IPPROTO_IPV6, IPV6_HOPLIMIT, &hop, sizeof hop);
      if (ifindex > 0 || srcLen == 16) {
        in6_pktinfo pi{};
        pi.ipi6_ifindex = ifindex;
        if (srcLen == 16) memcpy(&pi.ipi6_addr, src, 16);
        put(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
      }
    }
    msg.msg_controllen = used;
    if (used == 0) msg.msg_control = nullptr;
    ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      ErrnoError(env, errno, "sendmsg").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // start(callback(err, messages[]), bufferSize, batch): poll for readability and drain.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !NeedType(env, info[0].IsFunction(), "start(callback, bufferSize, batch)")) return env.Undefined();
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    uint32_t size = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 65536;
    if (size < 64) size = 64;
    if (size > (1u << 20)) size = 1u << 20;
    buf_.assign(size, 0);
    batch_ = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 64;
    if (batch_ < 1) batch_ = 1;
    if (batch_ > 4096) batch_ = 4096;
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      napi_get_uv_event_loop(env, &loop);
      poll_ = new uv_poll_t;
      int rc = uv_poll_init(loop, poll_, fd_);
      if (rc != 0) {
        delete poll_;
        poll_ = nullptr;
        ErrnoError(env, -rc, "uv_poll_init").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      poll_->data = this;
      // While polling, the JS object must stay alive: the poll handle points at it.
      Napi::ObjectWrap<Socket>::Ref();
    }
    int rc = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (rc != 0) ErrnoError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
    if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPoll();
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    refed_ = true;
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    refed_ = false;
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseNow();
    return info.Env().Undefined();
  }

  void StopPoll() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    callback_.Reset();
    Napi::ObjectWrap<Socket>::Unref();
  }

  void CloseNow() {
    StopPoll();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    Socket* self = static_cast<Socket*>(handle->data);
    if (self != nullptr) self->Drain(status);
  }

  void Drain(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value err = env.Null();
    Napi::Array out = Napi::Array::New(env);
    uint32_t count = 0;
    if (status < 0) {
      // libuv reports POLLERR as an error and stops the handle. For datagram sockets that is a pending socket
      // error (ENOBUFS on an overrun netlink socket): fetch it (which clears it), report it, keep polling.
      int soerr = 0;
      socklen_t len = sizeof soerr;
      if (fd_ >= 0 && getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0) {
        if (soerr != 0) err = ErrnoError(env, soerr, "recvmsg").Value();
        // POLLERR can also mean a non-empty error queue: empty it (bounded) so the poll does not spin.
        uint8_t scratch[512];
        for (int k = 0; k < 64; k++) {
          iovec eiov{scratch, sizeof scratch};
          msghdr emsg{};
          emsg.msg_iov = &eiov;
          emsg.msg_iovlen = 1;
          if (recvmsg(fd_, &emsg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
        }
        if (poll_ != nullptr) uv_poll_start(poll_, UV_READABLE, OnReadable);
        status = 0;
      } else {
        err = ErrnoError(env, -status, "uv_poll").Value();
      }
    }
    if (status >= 0) {
      while (count < batch_ && fd_ >= 0) {
        sockaddr_storage from{};
        alignas(cmsghdr) uint8_t control[256];
        iovec iov{buf_.data(), buf_.size()};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) err = ErrnoError(env, errno, "recvmsg").Value();
          break;
        }
        size_t len = static_cast<size_t>(n) < buf_.size() ? static_cast<size_t>(n) : buf_.size();
        Napi::Object m = Napi::Object::New(env);
        m.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf_.data(), len));
        m.Set("name", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&from),
                                                  msg.msg_namelen <= sizeof from ? msg.msg_namelen : sizeof from));
        if (msg.msg_flags & MSG_TRUNC) m.Set("truncated", Napi::Boolean::New(env, true));
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          size_t dlen = c->cmsg_len - CMSG_LEN(0);
          const uint8_t* d = CMSG_DATA(c);
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL && dlen >= sizeof(int)) {
            int v;
            memcpy(&v, d, sizeof v);
            m.Set("ttl", Napi::Number::New(env, v));
          } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && dlen >= sizeof(in_pktinfo)) {
            in_pktinfo pi;
            memcpy(&pi, d, sizeof pi);
            m.Set("ifindex", Napi::Number::New(env, pi.ipi_ifindex));
            m.Set("dst", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&pi.ipi_addr), 4));
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT && dlen >= sizeof(int)) {
            int v;
            memcpy(&v, d, sizeof v);
            m.Set("hopLimit", Napi::Number::New(env, v));
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && dlen >= sizeof(in6_pktinfo)) {
            in6_pktinfo pi;
            memcpy(&pi, d, sizeof pi);
            m.Set("ifindex", Napi::Number::New(env, pi.ipi6_ifindex));
            m.Set("dst", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&pi.ipi6_addr), 16));
          }
        }
        out.Set(count++, m);
      }
    }
    if (count == 0 && err.IsNull()) return;
    if (callback_.IsEmpty()) return;
    Napi::Object recv = Value();
    callback_.MakeCallback(recv, {err, out});
    if (env.IsExceptionPending()) {
      // A throwing handler must surface as an uncaught exception, not vanish inside the poll callback.
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }
};


// Streams: short non-blocking TCP connections for health checks, all on one epoll set that one uv_poll_t
// watches. A connection is named by its fd; JavaScript gives each an id that events carry back (an fd number is
// reused after close, the id is not). Every readiness of one loop turn is written as (id, kind, value) triples
// into a shared Int32Array and reported in ONE JavaScript call, with received bytes in a side array:
//   kind 1 CONNECT: value = 0 (connected) or the errno of the failed connect (SO_ERROR)
//   kind 2 DATA:    value = index of the Buffer in the side array
//   kind 3 EOF:     value = 0
//   kind 4 ERROR:   value = errno of recv
// Synchronous failures are returned as negative numbers: -(errno | stage << 16), stage 1 socket,
// 2 SO_BINDTODEVICE, 3 SO_MARK, 4 bind, 5 connect, 6 epoll_ctl, 7 send.
class Streams : public Napi::ObjectWrap<Streams> {
 public:
  static constexpr uint32_t kCapacity = 1024;  // events per JavaScript call
  enum : uint8_t { kFree = 0, kConnecting = 1, kIdle = 2, kReading = 3, kDone = 4 };
  struct Conn {
    uint32_t id = 0;
    uint8_t state = kFree;
    bool pendingIn = false;  // readable (or closed by the peer) before read() was called
  };

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Streams",
                       {
                           InstanceAccessor<&Streams::GetEvents>("events"),
                           InstanceAccessor<&Streams::GetActive>("active"),
                           InstanceMethod<&Streams::Open>("open"),
                           InstanceMethod<&Streams::Send>("send"),
                           InstanceMethod<&Streams::Read>("read"),
                           InstanceMethod<&Streams::CloseConn>("close"),
                           InstanceMethod<&Streams::GetOpt>("getOption"),
                       });
  }

  // new Streams(callback(count, buffers | undefined))
  explicit Streams(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Streams>(info) {
    Napi::Env env = info.Env();
    if (!NeedType(env, info[0].IsFunction(), "Streams(callback)")) return;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      ErrnoError(env, errno, "epoll_create1").ThrowAsJavaScriptException();
      return;
    }
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kCapacity * 3 * sizeof(int32_t));
    events_ = static_cast<int32_t*>(ab.Data());
    eventsArray_ = Napi::Persistent(Napi::Int32Array::New(env, kCapacity * 3, ab, 0));
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, epfd_);
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnReady);
    // only open connections keep the loop alive
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Napi::ObjectWrap<Streams>::Ref();  // the engine lives as long as the process (the poll points at it)
  }

  ~Streams() override {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    }
    for (size_t fd = 0; fd < conns_.size(); fd++)
      if (conns_[fd].state != kFree) close(static_cast<int>(fd));
    if (epfd_ >= 0) close(epfd_);
  }

 private:
  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  Napi::Reference<Napi::Int32Array> eventsArray_;
  int32_t* events_ = nullptr;
  std::vector<Conn> conns_;
  uint32_t active_ = 0;
  uint8_t rbuf_[65536];

  Napi::Value GetEvents(const Napi::CallbackInfo& info) { return eventsArray_.Value(); }
  Napi::Value GetActive(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), active_); }

  Conn* ConnOf(const Napi::Value& v) {
    if (!v.IsNumber()) return nullptr;
    int fd = v.As<Napi::Number>().Int32Value();
    if (fd < 0 || static_cast<size_t>(fd) >= conns_.size() || conns_[fd].state == kFree) return nullptr;
    return &conns_[fd];
  }

  static uint64_t Tag(int fd, uint32_t id) { return (static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(fd); }

  static Napi::Value Fail(Napi::Env env, int err, int stage) { return Napi::Number::New(env, -(err | (stage << 16))); }

  // open(id, domain, sockaddr, bindSockaddr | null, ifname | null, mark, flags, netnsPath?) -> fd | -(errno | stage << 16)
  // flags bit 0: delay the handshake's final ACK (TCP_QUICKACK 0, as HAProxy does): it rides on the first data
  // sent, or never leaves when the connection is reset right after connecting (a port check: the server only
  // ever holds a SYN_RECV request, never accepts a connection)
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!NeedType(env, info[0].IsNumber() && info[1].IsNumber() && info[2].IsBuffer(), "open(id, domain, sockaddr, bind, ifname, mark)"))
      return env.Undefined();
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    int domain = info[1].As<Napi::Number>().Int32Value();
    auto sa = info[2].As<Napi::Buffer<uint8_t>>();
    int fd = -1;
    if (info[7].IsString()) {  // a socket of another network namespace (tests; kad itself runs inside its own)
      const char* failed = "socket";
      int nsErr = WithNetns(info[7].As<Napi::String>().Utf8Value(), &failed,
                            [&]() { fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP); });
      if (nsErr != 0) return Fail(env, nsErr, 1);
    } else {
      fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    }
    if (fd < 0) return Fail(env, errno, 1);
    auto bail = [&](int stage) {
      int e = errno;
      close(fd);
      return Fail(env, e, stage);
    };
    if (info[4].IsBuffer()) {  // NUL-terminated interface name
      auto n = info[4].As<Napi::Buffer<uint8_t>>();
      if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, n.Data(), static_cast<socklen_t>(n.Length())) != 0) return bail(2);
    }
    if (info[5].IsNumber()) {
      uint32_t mark = info[5].As<Napi::Number>().Uint32Value();
      if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) return bail(3);
    }
    if (info[6].IsNumber() && (info[6].As<Napi::Number>().Uint32Value() & 1)) {
      int zero = 0;
      setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
    }
    if (info[3].IsBuffer()) {
      auto b = info[3].As<Napi::Buffer<uint8_t>>();
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, reinterpret_cast<const sockaddr*>(b.Data()), static_cast<socklen_t>(b.Length())) != 0) return bail(4);
    }
    if (connect(fd, reinterpret_cast<const sockaddr*>(sa.Data()), static_cast<socklen_t>(sa.Length())) != 0 && errno != EINPROGRESS)
      return bail(5);
    // the event carries the id with the fd: a registration that outlives close() (a forked child holding a
    // copy of the fd until its exec) reports an id that no longer matches and is ignored
    epoll_event ev{};
    // edge-triggered: one event when the connect completes, one per arrival of data or of the peer's close, and
    // no epoll_ctl between connecting and reading
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = Tag(fd, id);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return bail(6);
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 64);
    conns_[fd].id = id;
    conns_[fd].state = kConnecting;
    conns_[fd].pendingIn = false;
    if (active_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return Napi::Number::New(env, fd);
  }

  // send(fd, data) -> bytes sent | -(errno | 7 << 16)
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ConnOf(info[0]) == nullptr) return Fail(env, EBADF, 7);
    if (!NeedType(env, info[1].IsBuffer(), "send(fd, Buffer)")) return env.Undefined();
    auto b = info[1].As<Napi::Buffer<uint8_t>>();
    ssize_t n = ::send(info[0].As<Napi::Number>().Int32Value(), b.Data(), b.Length(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return Fail(env, errno, 7);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // read(fd) -> 0 | -(errno | 6 << 16): report DATA / EOF / ERROR events from now on
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = ConnOf(info[0]);
    if (c == nullptr) return Fail(env, EBADF, 6);
    int fd = info[0].As<Napi::Number>().Int32Value();
    c->state = kReading;
    // bytes that arrived before read(): their edge has passed; re-arming makes epoll report them again
    if (c->pendingIn && Rearm(fd, *c) != 0) return Fail(env, errno, 6);
    c->pendingIn = false;
    return Napi::Number::New(env, 0);
  }

  int Rearm(int fd, const Conn& c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = Tag(fd, c.id);
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }

  // close(fd, reset) -> the connection's id (0: not open). reset sends an RST (SO_LINGER 0): no FIN handshake,
  // no TIME_WAIT
  Napi::Value CloseConn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = ConnOf(info[0]);
    if (c == nullptr) return Napi::Number::New(env, 0);
    uint32_t id = c->id;
    int fd = info[0].As<Napi::Number>().Int32Value();
    if (info[1].ToBoolean().Value()) {
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    // closing the only reference to the file removes it from the epoll set
    close(fd);
    c->state = kFree;
    c->id = 0;
    if (--active_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return Napi::Number::New(env, id);
  }

  // getOption(fd, level, name) -> integer value (tests read SO_MARK / SO_BINDTODEVICE index back)
  Napi::Value GetOpt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ConnOf(info[0]) == nullptr || !info[1].IsNumber() || !info[2].IsNumber()) return env.Undefined();
    uint8_t out[64] = {0};
    socklen_t len = sizeof out;
    if (getsockopt(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(), out, &len) != 0) {
      ErrnoError(env, errno, "getsockopt").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Buffer<uint8_t>::Copy(env, out, len);
  }

  static void OnReady(uv_poll_t* handle, int status, int /*events*/) {
    Streams* self = static_cast<Streams*>(handle->data);
    if (self != nullptr) self->Dispatch();
  }

  void Dispatch() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    epoll_event evs[256];
    uint32_t count = 0;
    Napi::Array bufs;
    uint32_t nbufs = 0;
    // drain the set (bounded by the event buffer: a connection reports at most two events per round), then
    // report once
    while (count + 512 <= kCapacity) {
      int n = epoll_wait(epfd_, evs, 256, 0);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) {
        int fd = static_cast<int>(evs[i].data.u64 & 0xffffffffu);
        uint32_t id = static_cast<uint32_t>(evs[i].data.u64 >> 32);
        if (fd < 0 || static_cast<size_t>(fd) >= conns_.size()) continue;
        Conn& c = conns_[fd];
        if (c.id != id) continue;
        int32_t* e = events_ + 3 * count;
        if (c.state == kConnecting) {
          // writable without an error or hang-up is a completed connect; only a failure needs SO_ERROR's errno
          int soerr = 0;
          if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
            socklen_t len = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
            if (soerr == 0) soerr = ECONNRESET;
          }
          c.state = kIdle;
          c.pendingIn = soerr == 0 && (evs[i].events & (EPOLLIN | EPOLLRDHUP)) != 0;
          e[0] = static_cast<int32_t>(c.id);
          e[1] = 1;
          e[2] = soerr;
          count++;
        } else if (c.state == kIdle) {
          if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.pendingIn = true;
        } else if (c.state == kReading) {
          ssize_t r = recv(fd, rbuf_, sizeof rbuf_, MSG_DONTWAIT);
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
          e[0] = static_cast<int32_t>(c.id);
          if (r > 0) {
            if (nbufs == 0) bufs = Napi::Array::New(env);
            bufs.Set(nbufs, Napi::Buffer<uint8_t>::Copy(env, rbuf_, static_cast<size_t>(r)));
            e[1] = 2;
            e[2] = static_cast<int32_t>(nbufs++);
            count++;
            if (static_cast<size_t>(r) == sizeof rbuf_) {
              // maybe more than one buffer's worth is waiting, and no new edge will say so: ask again
              Rearm(fd, c);
            } else if (evs[i].events & (EPOLLRDHUP | EPOLLHUP)) {
              // everything the peer sent before closing has been read: its close is the next thing
              e = events_ + 3 * count;
              e[0] = static_cast<int32_t>(c.id);
              e[1] = 3;
              e[2] = 0;
              count++;
              c.state = kDone;
            }
          } else {
            e[1] = r == 0 ? 3 : 4;
            e[2] = r == 0 ? 0 : errno;
            c.state = kDone;  // edge-triggered: nothing more is reported until close
            count++;
          }
        }
      }
      if (n < 256) break;
    }
    if (count == 0) return;
    cb_.MakeCallback(Value(), {Napi::Number::New(env, count), nbufs ? static_cast<Napi::Value>(bufs) : env.Undefined()});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }
};

// ifNameToIndex(name, netns?) -> number (0 if unknown)
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NeedType(env, info[0].IsString(), "ifNameToIndex(name, netns?)")) return env.Undefined();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string ns = info.Length() > 1 ? OptString(info[1]) : "";
  unsigned idx = 0;
  const char* failed = "if_nametoindex";
  int err = WithNetns(ns, &failed, [&]() { idx = if_nametoindex(name.c_str()); });
  if (err != 0) {
    ErrnoError(env, err, failed, ns).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, idx);
}

// ifIndexToName(index, netns?) -> string | null
Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NeedType(env, info[0].IsNumber(), "ifIndexToName(index, netns?)")) return env.Undefined();
  unsigned idx = info[0].As<Napi::Number>().Uint32Value();
  std::string ns = info.Length() > 1 ? OptString(info[1]) : "";
  char buf[IF_NAMESIZE + 1] = {0};
  char* res = nullptr;
  const char* failed = "if_indextoname";
  int err = WithNetns(ns, &failed, [&]() { res = if_indextoname(idx, buf); });
  if (err != 0) {
    ErrnoError(env, err, failed, ns).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (res == nullptr) return env.Null();
  return Napi::String::New(env, buf);
}

// openInNetns(path, flags, netns) -> fd: open a file while inside a network namespace (for /proc/sys/net).
Napi::Value OpenInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NeedType(env, info[0].IsString() && info[1].IsNumber(), "openInNetns(path, flags, netns?)")) return env.Undefined();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int flags = info[1].As<Napi::Number>().Int32Value();
  std::string ns = info.Length() > 2 ? OptString(info[2]) : "";
  int fd = -1;
  int openErr = 0;
  const char* failed = "open";
  int err = WithNetns(ns, &failed, [&]() {
    fd = open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) openErr = errno;
  });
  if (err != 0) {
    ErrnoError(env, err, failed, ns).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (fd < 0) {
    ErrnoError(env, openErr, "open", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// watchSignal(signum, cb) -> stop(): any signal number through libuv (Node's process.on cannot take the realtime
// signals keepalived uses: SIGRTMIN+2 for the JSON dump, SIGRTMAX-1 for STATS_CLEAR). The handle does not keep
// the loop alive.
struct SignalWatch {
  uv_signal_t handle;
  napi_env env;
  Napi::FunctionReference cb;
  bool stopped = false;
};

static void OnSignal(uv_signal_t* h, int signum) {
  auto* w = static_cast<SignalWatch*>(h->data);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  w->cb.MakeCallback(env.Global(), {Napi::Number::New(env, signum)});
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

Napi::Value WatchSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NeedType(env, info[0].IsNumber() && info[1].IsFunction(), "watchSignal(signum, callback)")) return env.Undefined();
  int signum = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* w = new SignalWatch();
  w->env = env;
  w->cb = Napi::Persistent(info[1].As<Napi::Function>());
  uv_signal_init(loop, &w->handle);
  w->handle.data = w;
  int rc = uv_signal_start(&w->handle, OnSignal, signum);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) { delete static_cast<SignalWatch*>(h->data); });
    ErrnoError(env, -rc > 0 ? -rc : EINVAL, "uv_signal_start", std::to_string(signum)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
  return Napi::Function::New(env, [](const Napi::CallbackInfo& ci) -> Napi::Value {
    auto* w = static_cast<SignalWatch*>(ci.Data());
    if (!w->stopped) {
      w->stopped = true;
      w->cb.Reset();
      uv_signal_stop(&w->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) { delete static_cast<SignalWatch*>(h->data); });
    }
    return ci.Env().Undefined();
  }, "stopWatchingSignal", w);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Socket", Socket::Init(env));
  exports.Set("Streams", Streams::Init(env));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex));
  exports.Set("ifIndexToName", Napi::Function::New(env, IfIndexToName));
  exports.Set("openInNetns", Napi::Function::New(env, OpenInNetns));
  exports.Set("watchSignal", Napi::Function::New(env, WatchSignal));
  exports.Set("Timer", kad::InitTimer(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(kad_native, Init)
