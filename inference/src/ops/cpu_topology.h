// How many threads the engine runs by default: one per physical core this process may use.
#pragma once

#include <string>
#include <vector>

namespace glmv::ops {

// Distinct physical cores among `cpus` (logical CPU numbers), from a Linux sysfs CPU directory
// (/sys/devices/system/cpu): each CPU's topology/core_cpus_list (thread_siblings_list on older kernels) lists the
// logical CPUs that share its core. 0 when a CPU's topology cannot be read.
int physical_cores(const std::string& sysfs_cpu_dir, const std::vector<int>& cpus);

// The logical CPUs this process may run on (its affinity mask).
std::vector<int> allowed_cpus();

// The engine's default thread count: the physical cores among the allowed CPUs when that is fewer than the logical
// CPUs (SMT), else 0 (keep OpenMP's default). Two threads on one core share its FMA units and its memory
// bandwidth, so a second thread per core adds little to the matrix products and to memory-bound decode while every
// parallel region waits on twice the threads; Intel's oneMKL/oneDNN guidance is one thread per physical core.
int default_thread_count();

// Sets the calling thread's OpenMP thread count to default_thread_count() unless OMP_NUM_THREADS is set or the count
// is unknown (then OpenMP's own default stays). Model::load and glmv-bench apply the rule through this.
void use_default_thread_count();

} // namespace glmv::ops
