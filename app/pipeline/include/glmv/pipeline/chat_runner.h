// What answers a conversation: the embedded engine (ChatEngine) or a remote OpenAI-compatible server
// (RemoteChatClient: vLLM, SGLang, glmv-server). Both take the same conversation and stream the same segments.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/stream_parser.h"

namespace glmv::pipeline {

struct Turn;
struct ChatSettings;
struct TurnResult;

class ChatRunner {
  public:
    virtual ~ChatRunner() = default;
    // Answers the conversation (which ends with a user turn); streams thinking/answer segments.
    virtual Result<TurnResult> run(const std::vector<Turn>& conversation, const ChatSettings& settings,
                                   const std::function<void(const StreamSegment&)>& on_segment) = 0;
    // Thread-safe: stops the running turn as soon as possible (within one token for the embedded engine).
    virtual void        cancel()            = 0;
    virtual std::string description() const = 0; // for the status bar: model folder or server URL
};

} // namespace glmv::pipeline
