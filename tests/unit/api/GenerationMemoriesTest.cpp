// GET /api/generations/{id}/memories: the memories a turn put into its prompt, with their score
// parts, through the real turn pipeline and a scripted memory service.
#include <gtest/gtest.h>

#include <mutex>

#include "ApiTestUtil.h"

namespace troupe::api::testing {
namespace {

namespace asio = boost::asio;

// Answers every retrieval with the same two memories; records what each generation used and
// reads it back like the real service (rank order, forgotten memories left out).
class ScriptedMemory final : public memory::MemoryService {
 public:
  std::string mode = "keyword";
  store::Id forgotten = 0;

  bool enabled() const override { return true; }
  asio::awaitable<memory::RetrievalResult> retrieve(memory::RetrievalRequest req) override {
    memory::RetrievalResult r;
    r.mode = mode;
    r.items.push_back({7, 40, req.scope.chat_id, "user", "My cat is called <b>Miso</b>", 1000,
                       0.8, 0.9, 0.5, 1.25, false, 0});
    r.items.push_back({3, 41, 99, "assistant", "Miso sleeps a lot", 900, 0.4, 0.7, 0.2, 0.75,
                       false, 0});
    co_return r;
  }
  asio::awaitable<Status> remember(memory::MemoryScope, store::Message) override { co_return Status{}; }
  asio::awaitable<Status> forget(store::Id, std::vector<store::Id>) override { co_return Status{}; }
  asio::awaitable<Status> forget_character(store::Id, store::Id) override { co_return Status{}; }
  asio::awaitable<Status> forget_user(store::Id) override { co_return Status{}; }
  asio::awaitable<Result<std::vector<store::RemovedMemory>>> chat_memories(store::Id) override {
    co_return std::vector<store::RemovedMemory>{};
  }
  asio::awaitable<void> forget_listed(std::vector<store::RemovedMemory>) override { co_return; }
  asio::awaitable<Status> record(store::Id generation_id,
                                 const memory::RetrievalResult& used) override {
    std::lock_guard lock(mu_);
    recorded_[generation_id] = used;
    co_return Status{};
  }
  asio::awaitable<Result<store::GenerationRetrieval>> used_by(store::Id generation_id) override {
    store::GenerationRetrieval gr;
    auto r = co_await used_memories(generation_id);
    if (!r.ok()) co_return r.error();
    gr.mode = r->mode;
    for (auto& m : r->items) gr.used.push_back({m.memory_id, m.rank, m.relevance, m.recency, m.importance, m.score});
    co_return gr;
  }
  asio::awaitable<Result<memory::RetrievalResult>> used_memories(store::Id generation_id) override {
    std::lock_guard lock(mu_);
    memory::RetrievalResult out;
    out.mode = "";
    auto it = recorded_.find(generation_id);
    if (it == recorded_.end()) co_return out;
    out.mode = it->second.mode;
    int rank = 0;
    for (auto m : it->second.items) {
      m.rank = rank++;
      if (m.memory_id != forgotten) out.items.push_back(std::move(m));
    }
    co_return out;
  }

 private:
  std::mutex mu_;
  std::map<store::Id, memory::RetrievalResult> recorded_;
};

class GenerationMemoriesTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    // The same services, now with a memory service.
    api_.reset();
    chats_.reset();
    turns_.reset();
    gm_.reset();
    chat::Deps d = deps();
    d.memory = &memory_;
    gm_ = std::make_unique<chat::GenerationManager>(d);
    turns_ = std::make_unique<chat::TurnService>(d, *gm_);
    chats_ = std::make_unique<chat::ChatService>(d, *gm_);
    api_ = std::make_unique<Api>(Services{config_, *auth_, *characters_, *chats_, *turns_, ready_});
  }

  // Posts one message and waits for the reply; returns its generation id.
  std::int64_t one_turn(store::Id chat_id) {
    llm_.set_script(Script{{"ok"}, std::chrono::milliseconds(0), -1});
    auto post = call(http::verb::post, "/api/chats/" + std::to_string(chat_id) + "/messages",
                     R"({"content":"What is my cat called?"})");
    EXPECT_EQ(post.res.result(), http::status::accepted) << post.res.body();
    EXPECT_TRUE(wait_idle(chat_id));
    auto b = body(post);
    return b.contains("generation") ? b.at("generation").at("id").as_int64() : 0;
  }

  ScriptedMemory memory_;
};

TEST_F(GenerationMemoriesTest, ListsTheUsedMemoriesWithTheirScoreParts) {
  auto chat = new_chat(alice_, aria_.id);
  auto gen = one_turn(chat.chat.id);
  ASSERT_GT(gen, 0);
  auto r = call(http::verb::get, "/api/generations/" + std::to_string(gen) + "/memories");
  ASSERT_EQ(r.res.result(), http::status::ok) << r.res.body();
  auto b = body(r);
  EXPECT_EQ(b.at("generation_id").as_int64(), gen);
  EXPECT_EQ(b.at("retrieval_mode").as_string(), "keyword");
  const auto& mems = b.at("memories").as_array();
  ASSERT_EQ(mems.size(), 2u);
  const auto& first = mems[0].as_object();
  EXPECT_EQ(first.at("rank").as_int64(), 0);
  EXPECT_EQ(first.at("id").as_int64(), 7);
  EXPECT_EQ(first.at("message_id").as_int64(), 40);
  EXPECT_EQ(first.at("chat_id").as_int64(), chat.chat.id);
  EXPECT_EQ(first.at("speaker").as_string(), "user");
  EXPECT_EQ(first.at("text").as_string(), "My cat is called <b>Miso</b>");
  EXPECT_EQ(first.at("created_at").as_int64(), 1000);
  EXPECT_DOUBLE_EQ(first.at("relevance").as_double(), 0.8);
  EXPECT_DOUBLE_EQ(first.at("recency").as_double(), 0.9);
  EXPECT_DOUBLE_EQ(first.at("importance").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(first.at("score").as_double(), 1.25);
  const auto& second = mems[1].as_object();
  EXPECT_EQ(second.at("rank").as_int64(), 1);
  EXPECT_EQ(second.at("chat_id").as_int64(), 99);  // from another chat of the same space

  // The generation object agrees on the mode and the ids.
  auto g = body(call(http::verb::get, "/api/generations/" + std::to_string(gen)));
  EXPECT_EQ(g.at("retrieval_mode").as_string(), "keyword");
  ASSERT_EQ(g.at("memory_ids").as_array().size(), 2u);
  EXPECT_EQ(g.at("memory_ids").as_array()[0].as_int64(), 7);
}

TEST_F(GenerationMemoriesTest, ForgottenMemoriesAreLeftOutAndRanksKept) {
  memory_.mode = "vector";
  auto chat = new_chat(alice_, aria_.id);
  auto gen = one_turn(chat.chat.id);
  ASSERT_GT(gen, 0);
  memory_.forgotten = 7;
  auto b = body(call(http::verb::get, "/api/generations/" + std::to_string(gen) + "/memories"));
  EXPECT_EQ(b.at("retrieval_mode").as_string(), "vector");
  const auto& mems = b.at("memories").as_array();
  ASSERT_EQ(mems.size(), 1u);
  EXPECT_EQ(mems[0].at("id").as_int64(), 3);
  EXPECT_EQ(mems[0].at("rank").as_int64(), 1);
}

TEST_F(GenerationMemoriesTest, OwnerOnlyAndUnknownIds) {
  auto chat = new_chat(alice_, aria_.id);
  auto gen = one_turn(chat.chat.id);
  ASSERT_GT(gen, 0);
  const std::string target = "/api/generations/" + std::to_string(gen) + "/memories";
  auto other = call(http::verb::get, target, "", token(bob_));
  EXPECT_EQ(other.res.result(), http::status::not_found);
  EXPECT_EQ(error_code(other), "not_found");
  auto unknown = call(http::verb::get, "/api/generations/" + std::to_string(gen + 1000) + "/memories");
  EXPECT_EQ(unknown.res.result(), http::status::not_found);
  auto anonymous = call(http::verb::get, target, "", "");
  EXPECT_EQ(anonymous.res.result(), http::status::unauthorized);
  auto post = call(http::verb::post, target);
  EXPECT_EQ(post.res.result(), http::status::method_not_allowed);
}

class GenerationMemoriesOffTest : public ApiFixture {};

TEST_F(GenerationMemoriesOffTest, WithoutMemoryTheModeIsNull) {
  llm_.set_script(Script{{"ok"}, std::chrono::milliseconds(0), -1});
  auto chat = new_chat(alice_, aria_.id);
  auto post = call(http::verb::post, "/api/chats/" + std::to_string(chat.chat.id) + "/messages",
                   R"({"content":"hello?"})");
  ASSERT_EQ(post.res.result(), http::status::accepted);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto gen = body(post).at("generation").at("id").as_int64();
  auto r = call(http::verb::get, "/api/generations/" + std::to_string(gen) + "/memories");
  ASSERT_EQ(r.res.result(), http::status::ok);
  auto b = body(r);
  EXPECT_TRUE(b.at("retrieval_mode").is_null());
  EXPECT_TRUE(b.at("memories").as_array().empty());
  auto other = call(http::verb::get, "/api/generations/" + std::to_string(gen) + "/memories", "",
                    token(bob_));
  EXPECT_EQ(other.res.result(), http::status::not_found);
}

}  // namespace
}  // namespace troupe::api::testing
