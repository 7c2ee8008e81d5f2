// A remote OpenAI-compatible server as the model: vLLM or SGLang serving GLM-4.1V (possibly tensor-parallel across
// many GPUs), or another glmv-server. The same conversation goes out (images as data: URLs, PDF pages rendered here
// and sent as PNG images, videos as file:// URLs — vLLM needs --allowed-local-media-path), and the same
// thinking/answer segments come back, whether the server splits reasoning into `reasoning_content` (vLLM's GLM
// reasoning parser) or leaves <think>…</think> tags inside `content`.
//
//   auto r = glmv::pipeline::RemoteChatClient::connect({"http://localhost:8000/v1", "", ""});
//   auto reply = (*r)->run(conversation, settings, on_segment);
//
// Network is touched only here, and only when the user configured a remote backend.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "glmv/pipeline/chat_engine.h"

namespace glmv::pipeline {

struct RemoteOptions {
    std::string base_url;  // e.g. "http://localhost:8000/v1"
    std::string api_key;   // sent as "Authorization: Bearer …" when not empty
    std::string model;     // empty = the first model the server lists
    int         timeout_s = 600;
};

class RemoteChatClient : public ChatRunner {
  public:
    // Checks the server (GET /models) and picks the model.
    static Result<std::unique_ptr<RemoteChatClient>> connect(const RemoteOptions& options);

    Result<TurnResult> run(const std::vector<Turn>& conversation, const ChatSettings& settings,
                           const std::function<void(const StreamSegment&)>& on_segment) override;
    void        cancel() override { cancelled_ = true; }
    std::string description() const override { return options_.model + " @ " + options_.base_url; }
    const std::string& model() const { return options_.model; }

  private:
    explicit RemoteChatClient(RemoteOptions o) : options_(std::move(o)) {}
    RemoteOptions     options_;
    std::string       host_, path_prefix_; // "http://host:port", "/v1"
    std::atomic<bool> cancelled_{false};
};

} // namespace glmv::pipeline
