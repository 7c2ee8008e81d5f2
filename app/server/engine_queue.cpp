#include "engine_queue.h"

#include <chrono>

namespace glmv::server {

void Job::push(JobEvent e) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(e));
    }
    cv_.notify_all();
}

std::optional<JobEvent> Job::next(int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !events_.empty(); })) return std::nullopt;
    JobEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
}

EngineQueue::EngineQueue(pipeline::ChatEngine& engine) : engine_(engine), thread_([this] { run(); }) {}

EngineQueue::~EngineQueue() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        if (running_) engine_.cancel();
    }
    cv_.notify_all();
    thread_.join();
}

std::shared_ptr<Job> EngineQueue::submit(ChatRequest request) {
    auto job = std::make_shared<Job>(std::move(request));
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(job);
    }
    cv_.notify_all();
    return job;
}

void EngineQueue::cancel(const std::shared_ptr<Job>& job) {
    std::lock_guard<std::mutex> lock(mu_);
    job->cancel();
    if (running_ == job) engine_.cancel();
}

size_t EngineQueue::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
}

void EngineQueue::run() {
    while (true) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = queue_.front();
            queue_.pop_front();
            if (job->cancelled) continue; // its client left while waiting
            running_ = job;
        }
        auto r = engine_.run(job->request.turns, job->request.settings, [&](const StreamSegment& s) {
            job->push({s.channel == StreamChannel::thinking ? JobEvent::Kind::thinking : JobEvent::Kind::answer, s.text, {}});
        });
        {
            std::lock_guard<std::mutex> lock(mu_);
            running_.reset();
        }
        if (r) job->push({JobEvent::Kind::done, {}, std::move(r.value())});
        else job->push({JobEvent::Kind::error, r.status().message(), {}});
    }
}

} // namespace glmv::server
