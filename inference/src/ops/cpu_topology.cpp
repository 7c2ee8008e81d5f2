#include "ops/cpu_topology.h"

#include <omp.h>
#include <sched.h>

#include <cstdlib>

#include <fstream>
#include <set>

namespace glmv::ops {

namespace {

// The first line of a small text file; false when it cannot be read.
bool read_line(const std::string& path, std::string* line) {
    std::ifstream f(path);
    return bool(std::getline(f, *line));
}

} // namespace

int physical_cores(const std::string& sysfs_cpu_dir, const std::vector<int>& cpus) {
    std::set<std::string> cores; // a core is named by the list of its logical CPUs, the same for each of them
    for (int cpu : cpus) {
        const std::string topology = sysfs_cpu_dir + "/cpu" + std::to_string(cpu) + "/topology/";
        std::string       siblings;
        if (!read_line(topology + "core_cpus_list", &siblings) &&
            !read_line(topology + "thread_siblings_list", &siblings))
            return 0;
        cores.insert(siblings);
    }
    return int(cores.size());
}

std::vector<int> allowed_cpus() {
    std::vector<int> cpus;
    cpu_set_t        set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

int default_thread_count() {
    const std::vector<int> cpus  = allowed_cpus();
    const int              cores = physical_cores("/sys/devices/system/cpu", cpus);
    return cores > 0 && cores < int(cpus.size()) ? cores : 0;
}

void use_default_thread_count() {
    if (std::getenv("OMP_NUM_THREADS")) return;
    if (const int cores = default_thread_count(); cores > 0) omp_set_num_threads(cores);
}

} // namespace glmv::ops
