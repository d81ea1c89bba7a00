#include "model/job_parser.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"

using ief::BatchJob;
using ief::JobParser;

TEST_CASE("the seed example of ShowBatchJob parses field by field") {
  JobParser parser;
  auto parsed = parser.ParseShowBatchJob(ief::testing::ReadFixture("show_batch_job_seed.json"));
  REQUIRE(parsed.ok());
  const BatchJob& job = *parsed;
  CHECK(job.job_id == "66273c66-f72e-4607-8769-3663d255fb83");
  CHECK(job.job_name == "aaa");
  CHECK(job.job_type == "deployment_deploy");
  CHECK(job.target_type == "node");
  CHECK(job.description == "");
  CHECK(job.status == "Successful");
  CHECK(job.created_at == 1667218308);
  CHECK(job.status_last_updated_at == 1667218329);
  CHECK(job.task_total_count == 2);
  // The seed's counts contradict its tasks[]; they are kept exactly as sent.
  CHECK(job.task_failed_count == 2);
  CHECK(job.task_success_count == 0);
  CHECK_THAT(job.task_data, Catch::StartsWith("{\"deployment\":{\"replicas\":1,"));
  CHECK_THAT(job.task_data, Catch::EndsWith("\"tags\":[],\"description\":\"\"}"));

  REQUIRE(job.targets.size() == 2);
  CHECK(job.targets[0].target_id == "72eb5df1-295b-41f6-baed-d1a56728b0e0");
  CHECK(job.targets[0].NodeName() == "test1");
  CHECK(job.targets[1].NodeName() == "test2");

  REQUIRE(job.has_tasks);
  REQUIRE(job.tasks.size() == 2);
  const auto& task = job.tasks[0];
  CHECK(task.task_id == "382cca3e-88e6-4a7c-bf23-b637a99761f9");
  CHECK(task.task_name == "aaa-c530d");
  CHECK(task.target_id == "72eb5df1-295b-41f6-baed-d1a56728b0e0");
  CHECK(task.status == "Successful");
  CHECK(task.created_at == 1667218324);
  CHECK(task.reason == "");
  REQUIRE(task.extension_info.size() == 1);
  CHECK(task.extension_info[0].key == "deployment_id");
  CHECK(task.extension_info[0].value == "9bdefd92-c724-41f4-b07a-4b1061e096d6");
  CHECK(job.tasks[1].task_id == "ac04605b-c286-4f23-97e0-fe08366c36f5");
}

TEST_CASE("absent and null fields stay empty, unknown fields are ignored") {
  JobParser parser;
  auto parsed = parser.ParseShowBatchJob(R"({"job_id":"j1","job_name":null,"created_at":null,"tasks":null,
      "targets":[{"target_id":"t","extension_info":null}],"brand_new_field":{"nested":[1,2,{"x":true}]},
      "status":"Running","task_total_count":3.0})");
  REQUIRE(parsed.ok());
  CHECK(parsed->job_id == "j1");
  CHECK(parsed->job_name == "");
  CHECK_FALSE(parsed->created_at.has_value());
  CHECK_FALSE(parsed->has_tasks);
  CHECK_FALSE(parsed->task_failed_count.has_value());
  CHECK(parsed->task_total_count == 3);
  CHECK(parsed->targets.size() == 1);
  CHECK(parsed->targets[0].NodeName() == "");
  CHECK(parsed->status == "Running");
}

TEST_CASE("an empty tasks array is known to be empty") {
  JobParser parser;
  auto parsed = parser.ParseShowBatchJob(R"({"job_id":"j1","tasks":[]})");
  REQUIRE(parsed.ok());
  CHECK(parsed->has_tasks);
  CHECK(parsed->tasks.empty());
}

TEST_CASE("broken documents are errors, never partial jobs") {
  JobParser parser;
  std::string seed = ief::testing::ReadFixture("show_batch_job_seed.json");
  struct Case {
    const char* what;
    std::string body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty", "", "invalid JSON"},
      {"html error page", "<html><body>502 Bad Gateway</body></html>", "invalid JSON"},
      {"truncated", seed.substr(0, seed.size() / 2), "invalid JSON"},
      {"not an object", "[1,2,3]", "field job: expected an object"},
      {"string count", R"({"job_id":"j","task_total_count":"2"})", "field task_total_count: expected an integer"},
      {"fractional time", R"({"job_id":"j","created_at":1.5})", "field created_at: expected an integer"},
      {"numeric status", R"({"job_id":"j","status":7})", "field status: expected a string"},
      {"tasks not an array", R"({"job_id":"j","tasks":{}})", "field tasks: expected an array"},
      {"task not an object", R"({"job_id":"j","tasks":[1]})", "field tasks[]: expected an object"},
      {"bad extension", R"({"job_id":"j","targets":[{"extension_info":[{"key":1}]}]})",
       "field extension_info.key: expected a string"},
      {"missing job_id", R"({"job_name":"x"})", "field job_id: missing"},
      {"integer above int64", R"({"job_id":"j","created_at":10000000000000000000})",
       "field created_at: expected an integer in range"},
      {"integer above uint64", R"({"job_id":"j","created_at":99999999999999999999})", "invalid JSON"},
      {"invalid utf-8", "{\"job_id\":\"j\xff\"}", "invalid JSON"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    auto parsed = parser.ParseShowBatchJob(c.body);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ief::ErrorKind::kParse);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.message));
  }
}

TEST_CASE("deep nesting is refused without exhausting the stack") {
  JobParser parser;
  std::string deep = R"({"job_id":"j","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK_FALSE(parser.ParseShowBatchJob(deep).ok());
}

TEST_CASE("a parser is reusable after an error") {
  JobParser parser;
  CHECK_FALSE(parser.ParseShowBatchJob("{").ok());
  CHECK(parser.ParseShowBatchJob(R"({"job_id":"ok"})").ok());
}

TEST_CASE("ListBatchJob pages parse") {
  JobParser parser;
  auto list = parser.ParseListBatchJob(R"({"job_count":25,"jobs":[
      {"job_id":"a","job_name":"nightly-1","status":"Running","task_total_count":4,"status_last_updated_at":10},
      {"job_id":"b","status":"Failed"}]})");
  REQUIRE(list.ok());
  CHECK(list->job_count == 25);
  REQUIRE(list->jobs.size() == 2);
  CHECK(list->jobs[0].job_name == "nightly-1");
  CHECK(list->jobs[1].status == "Failed");
  CHECK_FALSE(list->jobs[0].has_tasks);
  CHECK_FALSE(parser.ParseListBatchJob(R"({"job_count":"x"})").ok());
}

TEST_CASE("error bodies give their code and message") {
  JobParser parser;
  auto error = parser.ParseApiError(R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"})");
  REQUIRE(error.has_value());
  CHECK(error->error_code == "APIGW.0301");
  CHECK(error->error_msg == "Incorrect IAM authentication information");
  CHECK_FALSE(parser.ParseApiError("<html>oops</html>").has_value());
  CHECK_FALSE(parser.ParseApiError(R"({"other":1})").has_value());
}
