#include "util/duration.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using ief::Duration;
using ief::ParseDuration;

TEST_CASE("ParseDuration accepts Prometheus durations") {
  CHECK(*ParseDuration("500ms") == Duration(500));
  CHECK(*ParseDuration("30s") == Duration(30s));
  CHECK(*ParseDuration("5m") == Duration(5min));
  CHECK(*ParseDuration("1h30m") == Duration(90min));
  CHECK(*ParseDuration("168h") == Duration(168h));
  CHECK(*ParseDuration("1d") == Duration(24h));
  CHECK(*ParseDuration("1w") == Duration(7 * 24h));
  CHECK(*ParseDuration("0s") == Duration(0));
  CHECK(*ParseDuration("1m1s1ms") == Duration(61001));
}

TEST_CASE("ParseDuration rejects what Prometheus rejects") {
  for (const char* bad : {"", "30", "s", "-5s", "1.5s", "5 s", "5sec", "1s1m", "1m1m", "abc", "1h 30m",
                          "99999999999999999999s"}) {
    INFO(bad);
    auto parsed = ParseDuration(bad);
    CHECK_FALSE(parsed.ok());
  }
  CHECK_THAT(ParseDuration("1s1m").error().message, Catch::Contains("largest first"));
}

TEST_CASE("FormatDuration writes the shortest spelling") {
  CHECK(ief::FormatDuration(Duration(90000)) == "1m30s");
  CHECK(ief::FormatDuration(Duration(100)) == "100ms");
  CHECK(ief::FormatDuration(Duration(0)) == "0s");
  CHECK(ief::FormatDuration(Duration(24h)) == "1d");
}
