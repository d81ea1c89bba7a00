#include "util/result.h"

#include <catch2/catch.hpp>

TEST_CASE("a Result holds a value or an error whose kind callers switch on") {
  ief::Result<int> value = 42;
  REQUIRE(value.ok());
  CHECK(*value == 42);

  ief::Result<int> failure = ief::Error(ief::ErrorKind::kNotFound, "no such job");
  REQUIRE_FALSE(failure.ok());
  CHECK(failure.error().kind == ief::ErrorKind::kNotFound);
  CHECK(failure.error().message == "no such job");
  CHECK(ief::ErrorKindName(failure.error().kind) == "not_found");

  ief::Status ok = ief::Status::Ok();
  CHECK(ok.ok());
  ief::Status refused = ief::Error(ief::ErrorKind::kAuthRejected, "wrong password");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ief::ErrorKind::kAuthRejected);
}
