// Wall time of each phase of the decoder's single-token steps, for finding where a decode step goes beyond its
// weight products (glmv-bench prints it). Off unless GLMV_DECODE_PHASES=1: then the thread running the decoder
// reads the clock around each phase (about 20 reads per layer). The time of a parallel phase includes its fork and
// join, which is the point: what the weight streaming alone would take is known from the roofline.
#pragma once

#include <chrono>
#include <cstdint>

namespace glmv::decode_phases {

enum Phase : int {
    norms,     // the four RMS norms and two residual adds of each layer
    qkv,       // q, k and v products
    rope,      // rotary on q and k
    attention, // one token against the KV cache
    out_proj,  // attention output product
    gate_up,   // MLP gate/up product
    silu,      // SiLU(gate) · up
    down,      // MLP down product
    head,      // final norm and output head
    sampling,  // choosing the token from the logits
    count
};

const char* name(Phase p);
bool        enabled(); // GLMV_DECODE_PHASES=1, read once
void        reset();
double      seconds(Phase p); // accumulated since reset()
int64_t     steps();          // single-token steps since reset()
void        add(Phase p, std::chrono::steady_clock::duration d);
void        count_step();

// Adds the time from construction to destruction to phase p when `on`.
class Scope {
  public:
    Scope(Phase p, bool on) : p_(p), on_(on) {
        if (on_) t0_ = std::chrono::steady_clock::now();
    }
    ~Scope() {
        if (on_) add(p_, std::chrono::steady_clock::now() - t0_);
    }
    Scope(const Scope&)            = delete;
    Scope& operator=(const Scope&) = delete;

  private:
    Phase                                 p_;
    bool                                  on_;
    std::chrono::steady_clock::time_point t0_;
};

} // namespace glmv::decode_phases
