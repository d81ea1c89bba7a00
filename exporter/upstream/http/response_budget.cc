#include "upstream/http/response_budget.h"

namespace ief {

bool ResponseBudget::TryTake(size_t bytes) {
  size_t used = in_use_.load();
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!in_use_.compare_exchange_weak(used, used + bytes));
  return true;
}

BudgetReservation& BudgetReservation::operator=(BudgetReservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool BudgetReservation::GrowTo(ResponseBudget& budget, size_t total) {
  if (budget_ != nullptr && budget_ != &budget) return false;  // one reservation, one budget
  if (total <= bytes_) return true;
  if (!budget.TryTake(total - bytes_)) return false;
  budget_ = &budget;
  bytes_ = total;
  return true;
}

void BudgetReservation::ShrinkTo(size_t total) {
  if (budget_ == nullptr || total >= bytes_) return;
  budget_->Give(bytes_ - total);
  bytes_ = total;
}

void BudgetReservation::Release() {
  if (budget_ != nullptr) budget_->Give(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

}  // namespace ief
