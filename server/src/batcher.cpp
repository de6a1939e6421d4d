#include "batcher.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "metrics.h"

namespace maum::server {

struct Batcher::Group {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> logits;
  size_t remaining = 0;
  std::exception_ptr error;
  std::mutex mutex;
  Done done;  // called on the inference thread when the last text has run
};

Batcher::Batcher(size_t max_batch, double max_wait_ms, size_t queue_limit, Metrics& metrics,
                 size_t lanes)
    : max_batch_(std::max<size_t>(1, max_batch)),
      max_wait_(static_cast<long long>(std::max(0.0, max_wait_ms) * 1000)),
      queue_limit_(queue_limit),
      metrics_(metrics) {
  try {
    for (size_t i = 0; i < std::max<size_t>(1, lanes); ++i) lanes_.emplace_back([this] { loop(); });
  } catch (...) {
    stop();  // the lanes already started must not outlive a batcher that was never made
    throw;
  }
}

Batcher::~Batcher() { stop(); }

std::vector<std::vector<float>> Batcher::run(const Model& model,
                                             std::vector<std::vector<int32_t>> ids) {
  if (ids.empty()) return {};
  struct Wait {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::vector<std::vector<float>> logits;
    std::exception_ptr error;
  };
  auto wait = std::make_shared<Wait>();
  submit(model, std::move(ids), [wait](std::vector<std::vector<float>> logits, std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(wait->mutex);
    wait->logits = std::move(logits);
    wait->error = error;
    wait->done = true;
    wait->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(wait->mutex);
  wait->cv.wait(lock, [&] { return wait->done; });
  if (wait->error) std::rethrow_exception(wait->error);
  return std::move(wait->logits);
}

void Batcher::submit(const Model& model, std::vector<std::vector<int32_t>> ids, Done done) {
  if (ids.empty()) {
    done({}, nullptr);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    on_way_ -= static_cast<long>(ids.size());  // queued now, or not coming (overload, stopping)
  }
  auto group = std::make_shared<Group>();
  group->remaining = ids.size();
  group->logits.resize(ids.size());
  group->ids = std::move(ids);
  group->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw ShuttingDown{};
    if (queue_.size() + group->ids.size() > queue_limit_) throw Overloaded{};
    for (size_t i = 0; i < group->ids.size(); ++i) queue_.push_back({&model, group, i});
  }
  wake_.notify_all();
}

void Batcher::announce(long n) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    on_way_ += n;
  }
  if (n < 0) wake_.notify_all();
}

size_t Batcher::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& lane : lanes_)
    if (lane.joinable()) lane.join();
}

void Batcher::loop() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, nothing left
      // Texts announced but still being tokenized get a moment to join this batch.
      wake_.wait_for(lock, max_wait_,
                     [&] { return queue_.size() >= max_batch_ || on_way_ <= 0 || stopping_; });
      if (queue_.empty()) continue;  // another lane took them meanwhile
      // Up to max_batch texts of the first waiting text's model, in arrival order.
      const Model* model = queue_.front().model;
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
        if (it->model == model) {
          batch.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::vector<int32_t>> ids;
    ids.reserve(batch.size());
    for (const auto& item : batch) ids.push_back(item.group->ids[item.index]);
    std::vector<std::vector<float>> logits;
    std::exception_ptr error;
    try {
      logits = batch.front().model->logits(ids, {}, max_batch_);
    } catch (...) {
      error = std::current_exception();
    }
    const auto ended = std::chrono::steady_clock::now();
    metrics_.batch(batch.size(), std::chrono::duration<double>(ended - started).count());
    for (size_t k = 0; k < batch.size(); ++k) {
      Group& g = *batch[k].group;
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(g.mutex);
        if (error) g.error = error;
        else g.logits[batch[k].index] = std::move(logits[k]);
        last = --g.remaining == 0;
      }
      if (last) g.done(std::move(g.logits), g.error);
    }
  }
}

}  // namespace maum::server
