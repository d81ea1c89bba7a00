#include "upstream/http/transport_pool.h"

#include <catch2/catch.hpp>

namespace {

class CountingTransport : public ief::HttpTransport {
 public:
  explicit CountingTransport(int id) : id(id) {}
  ief::Result<ief::HttpResponse> Send(const ief::HttpRequest&) override {
    ief::HttpResponse response;
    response.status = 200;
    response.body = std::to_string(id);
    return response;
  }
  const int id;
};

}  // namespace

TEST_CASE("a returned transport is lent again instead of a new one") {
  int made = 0;
  ief::TransportPool pool([&] { return std::make_unique<CountingTransport>(++made); });
  {
    auto first = pool.Borrow();
    auto second = pool.Borrow();
    CHECK(made == 2);
    CHECK(pool.idle() == 0);
    CHECK(first->Send({})->body == "1");
  }
  CHECK(pool.idle() == 2);
  auto again = pool.Borrow();
  CHECK(made == 2);  // no new transport: its connections live on
  CHECK(pool.idle() == 1);
}

TEST_CASE("a budget reservation grows within the limit and gives everything back when destroyed") {
  ief::ResponseBudget budget(1000);
  {
    ief::BudgetReservation a;
    ief::BudgetReservation b;
    CHECK(a.GrowTo(budget, 600));
    CHECK(budget.in_use() == 600);
    CHECK_FALSE(b.GrowTo(budget, 500));  // 1,100 would be over
    CHECK(b.GrowTo(budget, 400));
    CHECK(budget.in_use() == 1000);
    CHECK(a.GrowTo(budget, 300));  // growing to less keeps what it has
    CHECK(a.bytes() == 600);
    a.ShrinkTo(500);  // a buffer that moved gives back what its old place took
    CHECK(a.bytes() == 500);
    CHECK(budget.in_use() == 900);
    ief::BudgetReservation moved = std::move(a);
    CHECK(budget.in_use() == 900);
    CHECK(moved.bytes() == 500);
  }
  CHECK(budget.in_use() == 0);
}
