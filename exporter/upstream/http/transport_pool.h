// Transports (and so their open connections) outlive the workers that use them: a worker borrows one, and a
// reload's new workers pick up the same transports, with their keep-alive connections, instead of reconnecting.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "upstream/http/http.h"
#include "util/mutex.h"

namespace ief {

class TransportPool {
 public:
  using Factory = std::function<std::unique_ptr<HttpTransport>()>;
  explicit TransportPool(Factory factory) : factory_(std::move(factory)) {}

  // A transport for one thread. It goes back to the pool when the lease is destroyed; the pool must outlive it.
  class Lease {
   public:
    Lease(TransportPool& pool, std::unique_ptr<HttpTransport> transport)
        : pool_(&pool), transport_(std::move(transport)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease() {
      if (transport_) pool_->Return(std::move(transport_));
    }
    HttpTransport& operator*() const { return *transport_; }
    HttpTransport* operator->() const { return transport_.get(); }

   private:
    TransportPool* pool_;
    std::unique_ptr<HttpTransport> transport_;
  };

  Lease Borrow();
  size_t idle() const;

 private:
  void Return(std::unique_ptr<HttpTransport> transport);

  Factory factory_;
  mutable Mutex mutex_;
  std::vector<std::unique_ptr<HttpTransport>> idle_ GUARDED_BY(mutex_);
};

}  // namespace ief
