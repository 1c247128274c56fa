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

#include "common.h"
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

using kad::ClosePoll;
using kad::ErrnoError;

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
    ClosePoll(poll_);
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
    ClosePoll(poll_);
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
// watches. JavaScript names a connection by a slot (a small integer it allocates) and an id (a counter that wraps
// after 2^31 connections): events carry both, so an event of a closed connection cannot reach the next one on the
// same slot.
//
// A socket outlives its connection when it can: a connection of a target with no interface, mark or local address
// ends with connect(AF_UNSPEC) (which resets an established connection, as SO_LINGER 0 and close would) and its
// socket, still in the epoll set, waits in a pool for the next connect. A check then costs connect and disconnect
// instead of socket, setsockopt, connect, epoll_ctl, setsockopt and close. Epoll reports a socket's state when it
// is collected, not when it changed, so a socket taken from the pool is reported as its new connection stands.
// Registrations carry the fd and the socket's generation: one that outlives close() (a forked child's copy of
// the fd) cannot reach a later socket with the same fd.
//
// Where to connect and what to do once connected is a target, registered once (addTarget): the sockaddrs, the
// socket options, and either nothing (the handler is told, and drives the connection with send / read), a reset at
// once (a port check), or request bytes sent at once, after which received bytes are reported.
//
// JavaScript queues opens and closes as 4-int commands in a shared Int32Array and hands them over in one call
// (flush). Every readiness of one loop turn is reported in ONE JavaScript call, as 4-int events in another shared
// Int32Array, received bytes laid one after another in a shared arena:
//   [slot, id, kind, value], kind | 0x100 when the engine has closed the connection (its slot is free again)
//   kind 1 CONNECT: value = 0 (connected) or the errno of the failed connect (SO_ERROR)
//   kind 2 DATA:    value = byte count (the bytes follow the previous DATA event's in the arena)
//   kind 3 EOF:     value = 0
//   kind 4 ERROR:   value = errno of recv
//   kind 5 SEND:    the target's request could not be sent whole: value = bytes sent, or -(errno | 7 << 16)
// Synchronous failures are negative numbers: -(errno | stage << 16), stage 1 socket, 2 SO_BINDTODEVICE, 3 SO_MARK,
// 4 bind, 5 connect, 6 epoll_ctl, 7 send.
class Streams : public Napi::ObjectWrap<Streams> {
 public:
  static constexpr uint32_t kEvents = 1024;    // events per JavaScript call
  static constexpr uint32_t kCommands = 8192;  // commands per flush
  static constexpr size_t kArena = 1 << 20;    // received bytes per JavaScript call
  static constexpr size_t kRecvMax = 65536;    // bytes per recv
  // after a report of fewer events than this, while connections are still waiting, the set is looked at again only
  // after kHoldMs: arrivals gather into one report instead of waking the process one or two at a time
  static constexpr uint32_t kHoldBelow = 16;
  static constexpr uint64_t kHoldMs = 1;
  enum : uint8_t { kFree = 0, kConnecting = 1, kIdle = 2, kReading = 3, kDone = 4 };
  enum : int32_t { kConnect = 1, kData = 2, kEof = 3, kError = 4, kSend = 5, kClosed = 0x100 };
  enum : int32_t { kOpOpen = 1, kOpClose = 2 };
  // target flags: bit 0 delay the handshake's last ACK, bit 1 reset as soon as connected
  enum : uint32_t { kDelayAck = 1, kResetOnConnect = 2 };
  static constexpr size_t kPoolMax = 4096;  // idle sockets kept, all pools together
  static constexpr uint32_t kEpollEvents = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET;
  struct Target {
    uint32_t refs = 0;  // JavaScript's (until dropTarget) and one per open connection
    int pool = -1;      // the pool its sockets come from and go back to (-1: a socket per connection)
    int domain = 0;
    sockaddr_storage sa{};
    socklen_t saLen = 0;
    sockaddr_storage bindSa{};
    socklen_t bindLen = 0;  // 0: no bind()
    std::string ifname;     // empty: no SO_BINDTODEVICE
    uint32_t mark = 0;
    uint32_t flags = 0;
    std::string netns;
    std::vector<uint8_t> request;  // empty: none
  };
  struct Conn {
    int fd = -1;
    uint32_t id = 0;
    uint32_t target = 0;
    uint8_t state = kFree;
    bool pendingIn = false;  // readable (or closed by the peer) before read() was called
  };
  // per fd: the socket's generation (in its epoll registration) and the connection using it (-1: none, pooled)
  struct Sock {
    uint32_t gen = 0;
    int32_t slot = -1;
  };
  // disconnected sockets of one kind, ready for a connect
  struct Pool {
    int domain;
    bool delayAck;
    std::string netns;
    std::vector<int> fds;
  };

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Streams",
                       {
                           InstanceAccessor<&Streams::GetEvents>("events"),
                           InstanceAccessor<&Streams::GetCommands>("commands"),
                           InstanceAccessor<&Streams::GetFailures>("failures"),
                           InstanceAccessor<&Streams::GetArena>("arena"),
                           InstanceMethod<&Streams::AddTarget>("addTarget"),
                           InstanceMethod<&Streams::DropTarget>("dropTarget"),
                           InstanceMethod<&Streams::Flush>("flush"),
                           InstanceMethod<&Streams::Send>("send"),
                           InstanceMethod<&Streams::Read>("read"),
                           InstanceMethod<&Streams::GetOpt>("getOption"),
                       });
  }

  // new Streams(callback(count))
  explicit Streams(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Streams>(info) {
    Napi::Env env = info.Env();
    if (!NeedType(env, info[0].IsFunction(), "Streams(callback)")) return;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      ErrnoError(env, errno, "epoll_create1").ThrowAsJavaScriptException();
      return;
    }
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    events_ = SharedInts(env, kEvents * 4, eventsArray_);
    commands_ = SharedInts(env, kCommands * 4, commandsArray_);
    failures_ = SharedInts(env, kCommands * 3, failuresArray_);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kArena);
    arena_ = static_cast<uint8_t*>(ab.Data());
    arenaArray_ = Napi::Persistent(Napi::Uint8Array::New(env, kArena, ab, 0));
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, epfd_);
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnReady);
    hold_ = new uv_timer_t;
    uv_timer_init(loop, hold_);
    hold_->data = this;
    // only open connections keep the loop alive
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Napi::ObjectWrap<Streams>::Ref();  // the engine lives as long as the process (the poll points at it)
  }

  ~Streams() override {
    if (poll_ != nullptr) {
      ClosePoll(poll_);
      uv_timer_stop(hold_);
      uv_close(reinterpret_cast<uv_handle_t*>(hold_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    }
    for (Conn& c : conns_)
      if (c.state != kFree) close(c.fd);
    for (Pool& p : pools_)
      for (int fd : p.fds) close(fd);
    if (epfd_ >= 0) close(epfd_);
  }

 private:
  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* hold_ = nullptr;
  Napi::FunctionReference cb_;
  Napi::Reference<Napi::Int32Array> eventsArray_, commandsArray_, failuresArray_;
  Napi::Reference<Napi::Uint8Array> arenaArray_;
  int32_t* events_ = nullptr;
  int32_t* commands_ = nullptr;
  int32_t* failures_ = nullptr;
  uint8_t* arena_ = nullptr;
  std::vector<Target> targets_;
  std::vector<uint32_t> freeTargets_;
  std::vector<Conn> conns_;
  std::vector<Sock> socks_;
  uint32_t sockGen_ = 0;
  std::vector<Pool> pools_;
  size_t idle_ = 0;
  uint32_t active_ = 0;

  static int32_t* SharedInts(Napi::Env env, size_t n, Napi::Reference<Napi::Int32Array>& ref) {
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, n * sizeof(int32_t));
    ref = Napi::Persistent(Napi::Int32Array::New(env, n, ab, 0));
    return static_cast<int32_t*>(ab.Data());
  }

  Napi::Value GetEvents(const Napi::CallbackInfo& info) { return eventsArray_.Value(); }
  Napi::Value GetCommands(const Napi::CallbackInfo& info) { return commandsArray_.Value(); }
  Napi::Value GetFailures(const Napi::CallbackInfo& info) { return failuresArray_.Value(); }
  Napi::Value GetArena(const Napi::CallbackInfo& info) { return arenaArray_.Value(); }

  Conn* ConnOf(const Napi::Value& v) {
    if (!v.IsNumber()) return nullptr;
    int32_t slot = v.As<Napi::Number>().Int32Value();
    if (slot < 0 || static_cast<size_t>(slot) >= conns_.size() || conns_[slot].state == kFree) return nullptr;
    return &conns_[slot];
  }

  static uint64_t Tag(int fd, uint32_t gen) { return (static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(fd); }

  static int32_t Code(int err, int stage) { return -(err | (stage << 16)); }
  static Napi::Value Fail(Napi::Env env, int err, int stage) { return Napi::Number::New(env, Code(err, stage)); }

  static socklen_t CopyAddr(const Napi::Value& v, sockaddr_storage* out) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    socklen_t n = static_cast<socklen_t>(std::min(b.Length(), sizeof(sockaddr_storage)));
    memcpy(out, b.Data(), n);
    return n;
  }

  // addTarget(domain, sockaddr, bindSockaddr | null, ifname | null, mark, flags, netnsPath | undefined,
  //           request | null) -> target number
  Napi::Value AddTarget(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!NeedType(env, info[0].IsNumber() && info[1].IsBuffer() && info[4].IsNumber() && info[5].IsNumber(),
                  "addTarget(domain, sockaddr, bind, ifname, mark, flags, netns, request)"))
      return env.Undefined();
    uint32_t t;
    if (!freeTargets_.empty()) {
      t = freeTargets_.back();
      freeTargets_.pop_back();
    } else {
      t = static_cast<uint32_t>(targets_.size());
      targets_.emplace_back();
    }
    Target& tg = targets_[t];
    tg = Target{};
    tg.refs = 1;
    tg.domain = info[0].As<Napi::Number>().Int32Value();
    tg.saLen = CopyAddr(info[1], &tg.sa);
    if (info[2].IsBuffer()) tg.bindLen = CopyAddr(info[2], &tg.bindSa);
    if (info[3].IsBuffer()) {  // NUL-terminated interface name
      auto n = info[3].As<Napi::Buffer<char>>();
      tg.ifname.assign(n.Data(), n.Length());
    }
    tg.mark = info[4].As<Napi::Number>().Uint32Value();
    tg.flags = info[5].As<Napi::Number>().Uint32Value();
    if (info[6].IsString()) tg.netns = info[6].As<Napi::String>().Utf8Value();
    if (info[7].IsBuffer()) {
      auto r = info[7].As<Napi::Buffer<uint8_t>>();
      tg.request.assign(r.Data(), r.Data() + r.Length());
    }
    if (tg.ifname.empty() && tg.mark == 0 && tg.bindLen == 0) tg.pool = PoolFor(tg.domain, (tg.flags & kDelayAck) != 0, tg.netns);
    return Napi::Number::New(env, t);
  }

  int PoolFor(int domain, bool delayAck, const std::string& netns) {
    for (size_t i = 0; i < pools_.size(); i++)
      if (pools_[i].domain == domain && pools_[i].delayAck == delayAck && pools_[i].netns == netns) return static_cast<int>(i);
    pools_.push_back(Pool{domain, delayAck, netns, {}});
    return static_cast<int>(pools_.size() - 1);
  }

  // dropTarget(target): JavaScript is done with it; it goes when its last connection closes
  Napi::Value DropTarget(const Napi::CallbackInfo& info) {
    uint32_t t = info[0].As<Napi::Number>().Uint32Value();
    if (t < targets_.size() && targets_[t].refs > 0) Unref(t);
    return info.Env().Undefined();
  }

  void Unref(uint32_t t) {
    if (--targets_[t].refs > 0) return;
    targets_[t] = Target{};
    freeTargets_.push_back(t);
  }

  // flush(count): runs `count` queued commands [op, slot, id, arg]: open (arg = target) or close (arg = reset).
  // Returns how many opens failed at once; each is [slot, id, -(errno | stage << 16)] in `failures`.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    uint32_t n = std::min(info[0].As<Napi::Number>().Uint32Value(), kCommands);
    uint32_t failed = 0;
    for (uint32_t i = 0; i < n; i++) {
      const int32_t* c = commands_ + 4 * i;
      uint32_t slot = static_cast<uint32_t>(c[1]);
      uint32_t id = static_cast<uint32_t>(c[2]);
      if (c[0] == kOpOpen) {
        int32_t code = Open(slot, id, static_cast<uint32_t>(c[3]));
        if (code == 0) continue;
        int32_t* f = failures_ + 3 * failed++;
        f[0] = static_cast<int32_t>(slot);
        f[1] = static_cast<int32_t>(id);
        f[2] = code;
      } else if (slot < conns_.size() && conns_[slot].state != kFree && conns_[slot].id == id) {
        Close(slot, c[3] != 0);
      }
    }
    return Napi::Number::New(info.Env(), failed);
  }

  // a pooled socket or socket + options, connect, epoll_ctl(ADD): 0 or -(errno | stage << 16)
  int32_t Open(uint32_t slot, uint32_t id, uint32_t t) {
    if (t >= targets_.size() || targets_[t].refs == 0) return Code(EINVAL, 1);
    if (slot >= conns_.size()) conns_.resize(slot + 64);
    if (conns_[slot].state != kFree) return Code(EBUSY, 1);
    const Target& tg = targets_[t];
    int fd = -1;
    bool fresh = true;
    if (tg.pool >= 0 && !pools_[tg.pool].fds.empty()) {
      fd = pools_[tg.pool].fds.back();
      pools_[tg.pool].fds.pop_back();
      idle_--;
      fresh = false;
    } else {
      int32_t code = NewSocket(tg, &fd);
      if (code != 0) return code;
    }
    auto bail = [&](int stage) {
      int e = errno;
      Discard(fd, fresh);
      return Code(e, stage);
    };
    if (connect(fd, reinterpret_cast<const sockaddr*>(&tg.sa), tg.saLen) != 0 && errno != EINPROGRESS) return bail(5);
    if (fresh) {
      // edge-triggered: one event when the connect completes, one per arrival of data or of the peer's close, and
      // no epoll_ctl between connecting and reading (nor between a pooled socket's connections)
      epoll_event ev{};
      ev.events = kEpollEvents;
      ev.data.u64 = Tag(fd, ++sockGen_);
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return bail(6);
      if (static_cast<size_t>(fd) >= socks_.size()) socks_.resize(static_cast<size_t>(fd) + 64);
      socks_[fd].gen = sockGen_;
    }
    socks_[fd].slot = static_cast<int32_t>(slot);
    Conn& c = conns_[slot];
    c.fd = fd;
    c.id = id;
    c.target = t;
    c.state = kConnecting;
    c.pendingIn = false;
    targets_[t].refs++;
    if (active_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return 0;
  }

  // socket and the target's options: 0 or -(errno | stage << 16). The handshake's last ACK is held back with
  // TCP_DEFER_ACCEPT, which (unlike TCP_QUICKACK 0) a disconnect leaves set for the socket's next connection.
  int32_t NewSocket(const Target& tg, int* out) {
    int fd = -1;
    if (!tg.netns.empty()) {  // a socket of another network namespace (tests; kad itself runs inside its own)
      const char* failed = "socket";
      int nsErr = WithNetns(tg.netns, &failed, [&]() { fd = socket(tg.domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP); });
      if (nsErr != 0) return Code(nsErr, 1);
    } else {
      fd = socket(tg.domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    }
    if (fd < 0) return Code(errno, 1);
    auto bail = [&](int stage) {
      int e = errno;
      close(fd);
      return Code(e, stage);
    };
    if (!tg.ifname.empty() && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, tg.ifname.data(), static_cast<socklen_t>(tg.ifname.size())) != 0)
      return bail(2);
    if (tg.mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &tg.mark, sizeof tg.mark) != 0) return bail(3);
    if (tg.flags & kDelayAck) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
    }
    if (tg.bindLen != 0) {
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&tg.bindSa), tg.bindLen) != 0) return bail(4);
    }
    *out = fd;
    return 0;
  }

  // a socket whose connect could not start: closed (a registered one leaves the epoll set with it)
  void Discard(int fd, bool fresh) {
    close(fd);
    if (!fresh) socks_[fd] = Sock{};
  }

  // reset: an RST, no FIN handshake, no TIME_WAIT. A socket of a pooled target whose connect has completed (or
  // failed, its error read) is disconnected (connect(AF_UNSPEC) resets an established connection) and pooled;
  // otherwise SO_LINGER 0 and close, which also takes it out of the epoll set.
  void Close(uint32_t slot, bool reset) {
    Conn& c = conns_[slot];
    int pool = targets_[c.target].pool;
    socks_[c.fd].slot = -1;
    if (pool >= 0 && reset && c.state != kConnecting && idle_ < kPoolMax && Disconnect(c.fd)) {
      pools_[pool].fds.push_back(c.fd);
      idle_++;
    } else {
      if (reset) {
        linger l{1, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      close(c.fd);
      socks_[c.fd] = Sock{};
    }
    Unref(c.target);
    c = Conn{};
    if (--active_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  static bool Disconnect(int fd) {
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    return connect(fd, &unspec, sizeof unspec) == 0;
  }

  // send(slot, data) -> bytes sent | -(errno | 7 << 16)
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = ConnOf(info[0]);
    if (c == nullptr) return Fail(env, EBADF, 7);
    if (!NeedType(env, info[1].IsBuffer(), "send(slot, Buffer)")) return env.Undefined();
    auto b = info[1].As<Napi::Buffer<uint8_t>>();
    ssize_t n = ::send(c->fd, b.Data(), b.Length(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return Fail(env, errno, 7);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // read(slot) -> 0 | -(errno | 6 << 16): report DATA / EOF / ERROR events from now on
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = ConnOf(info[0]);
    if (c == nullptr) return Fail(env, EBADF, 6);
    c->state = kReading;
    // bytes that arrived before read(): their edge has passed; re-arming makes epoll report them again
    if (c->pendingIn && Rearm(*c) != 0) return Fail(env, errno, 6);
    c->pendingIn = false;
    return Napi::Number::New(env, 0);
  }

  // the registration as Open made it (a pooled socket keeps it for its next connections); readiness is evaluated
  // again, so what is waiting is reported as a new edge
  int Rearm(const Conn& c) {
    epoll_event ev{};
    ev.events = kEpollEvents;
    ev.data.u64 = Tag(c.fd, socks_[c.fd].gen);
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // getOption(slot, level, name) -> the option's bytes (tests read SO_MARK / SO_BINDTODEVICE back)
  Napi::Value GetOpt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = ConnOf(info[0]);
    if (c == nullptr || !info[1].IsNumber() || !info[2].IsNumber()) return env.Undefined();
    uint8_t out[64] = {0};
    socklen_t len = sizeof out;
    if (getsockopt(c->fd, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(), out, &len) != 0) {
      ErrnoError(env, errno, "getsockopt").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Buffer<uint8_t>::Copy(env, out, len);
  }

  static void OnReady(uv_poll_t* handle, int status, int /*events*/) {
    Streams* self = static_cast<Streams*>(handle->data);
    if (self == nullptr) return;
    if (self->Dispatch() < kHoldBelow && self->active_ > 0) {
      uv_poll_stop(self->poll_);
      uv_timer_start(self->hold_, OnHoldEnd, kHoldMs, 0);
    }
  }

  static void OnHoldEnd(uv_timer_t* handle) {
    Streams* self = static_cast<Streams*>(handle->data);
    uv_poll_start(self->poll_, UV_READABLE, OnReady);
  }

  struct Report {
    int32_t* events;
    uint32_t count = 0;
    size_t arenaUsed = 0;
    void Add(uint32_t slot, uint32_t id, int32_t kind, int32_t value) {
      int32_t* e = events + 4 * count++;
      e[0] = static_cast<int32_t>(slot);
      e[1] = static_cast<int32_t>(id);
      e[2] = kind;
      e[3] = value;
    }
  };

  // one recv into the arena; DATA, and EOF when the peer's close came with the same edge
  void Receive(Report& rep, uint32_t slot, Conn& c, uint32_t evs) {
    size_t want = std::min(kRecvMax, kArena - rep.arenaUsed);
    if (want == 0) {  // the arena is full for this report: ask epoll to report the bytes again next time
      Rearm(c);
      return;
    }
    ssize_t r = recv(c.fd, arena_ + rep.arenaUsed, want, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (r > 0) {
      rep.Add(slot, c.id, kData, static_cast<int32_t>(r));
      rep.arenaUsed += static_cast<size_t>(r);
      if (static_cast<size_t>(r) == want) {
        // maybe more is waiting, and no new edge will say so: ask again
        Rearm(c);
      } else if (evs & (EPOLLRDHUP | EPOLLHUP)) {
        // everything the peer sent before closing has been read: its close is the next thing
        rep.Add(slot, c.id, kEof, 0);
        c.state = kDone;
      }
      return;
    }
    rep.Add(slot, c.id, r == 0 ? kEof : kError, r == 0 ? 0 : errno);
    c.state = kDone;  // edge-triggered: nothing more is reported until close
  }

  // reports what is ready; returns the number of events
  uint32_t Dispatch() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    epoll_event evs[256];
    Report rep{events_};
    // drain the set (bounded by the event buffer: a connection reports at most two events per readiness, and by
    // the arena), then report once
    while (rep.count + 2 * 256 <= kEvents && rep.arenaUsed + kRecvMax <= kArena) {
      int n = epoll_wait(epfd_, evs, 256, 0);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) {
        size_t fd = evs[i].data.u64 & 0xffffffffu;
        uint32_t gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
        // a pooled socket's, or a closed one's (a registration kept by a forked child's copy)
        if (fd >= socks_.size() || socks_[fd].gen != gen || socks_[fd].slot < 0) continue;
        uint32_t slot = static_cast<uint32_t>(socks_[fd].slot);
        Conn& c = conns_[slot];
        uint32_t e = evs[i].events;
        if (c.state == kConnecting) {
          Connected(rep, slot, c, e);
        } else if (c.state == kIdle) {
          if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.pendingIn = true;
        } else if (c.state == kReading) {
          Receive(rep, slot, c, e);
        }
      }
      if (n < 256) break;
    }
    if (rep.count == 0) return 0;
    cb_.MakeCallback(Value(), {Napi::Number::New(env, rep.count)});
    if (env.IsExceptionPending()) {
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());
    }
    return rep.count;
  }

  // the connect finished: report it, or do what the target says (reset, or send the request and read)
  void Connected(Report& rep, uint32_t slot, Conn& c, uint32_t e) {
    // writable without an error or hang-up is a completed connect; only a failure needs SO_ERROR's errno
    int soerr = 0;
    if (e & (EPOLLERR | EPOLLHUP)) {
      socklen_t len = sizeof soerr;
      if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
      if (soerr == 0) soerr = ECONNRESET;
    }
    uint32_t id = c.id;
    const Target& tg = targets_[c.target];
    c.state = kIdle;
    if (soerr != 0 || (tg.flags & kResetOnConnect)) {
      Close(slot, true);
      rep.Add(slot, id, kConnect | kClosed, soerr);
      return;
    }
    if (tg.request.empty()) {
      c.pendingIn = (e & (EPOLLIN | EPOLLRDHUP)) != 0;
      rep.Add(slot, id, kConnect, 0);
      return;
    }
    // the socket's send buffer is empty right after connecting: a request is sent whole, or the check fails
    ssize_t n = ::send(c.fd, tg.request.data(), tg.request.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 || static_cast<size_t>(n) != tg.request.size()) {
      int32_t v = n < 0 ? Code(errno, 7) : static_cast<int32_t>(n);
      Close(slot, true);
      rep.Add(slot, id, kSend | kClosed, v);
      return;
    }
    c.state = kReading;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) Receive(rep, slot, c, e);
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
