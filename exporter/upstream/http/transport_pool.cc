#include "upstream/http/transport_pool.h"

namespace ief {

TransportPool::Lease TransportPool::Borrow() {
  {
    MutexLock lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<HttpTransport> transport = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(transport));
    }
  }
  return Lease(*this, factory_());
}

size_t TransportPool::idle() const {
  MutexLock lock(mutex_);
  return idle_.size();
}

void TransportPool::Return(std::unique_ptr<HttpTransport> transport) {
  MutexLock lock(mutex_);
  idle_.push_back(std::move(transport));
}

}  // namespace ief
