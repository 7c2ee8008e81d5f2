// One engine, many HTTP clients: requests wait in a FIFO queue and run one at a time on a dedicated thread. Each job
// exposes its stream of events to the handler thread that owns the connection; a client that disconnects cancels
// its job (removed if still waiting, stopped within one token if running).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "glmv/pipeline/chat_engine.h"
#include "openai_protocol.h"

namespace glmv::server {

struct JobEvent {
    enum class Kind { thinking, answer, done, error } kind;
    std::string          text;   // delta, or the error message
    pipeline::TurnResult result; // for done
};

class Job {
  public:
    explicit Job(ChatRequest r) : request(std::move(r)) {}
    // Blocks until the next event (or until `timeout_ms` passes: returns nullopt).
    std::optional<JobEvent> next(int timeout_ms);
    void                    cancel() { cancelled = true; }

    ChatRequest       request;
    std::atomic<bool> cancelled{false};

  private:
    friend class EngineQueue;
    void                 push(JobEvent e);
    std::mutex           mu_;
    std::condition_variable cv_;
    std::deque<JobEvent> events_;
};

class EngineQueue {
  public:
    explicit EngineQueue(pipeline::ChatEngine& engine);
    ~EngineQueue();

    std::shared_ptr<Job> submit(ChatRequest request);
    // Called when a client goes away.
    void                 cancel(const std::shared_ptr<Job>& job);
    size_t               waiting() const;

  private:
    void run();

    pipeline::ChatEngine&            engine_;
    mutable std::mutex               mu_;
    std::condition_variable          cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::shared_ptr<Job>             running_;
    bool                             stopping_ = false;
    std::thread                      thread_;
};

} // namespace glmv::server
