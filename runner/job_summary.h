// The closing summary of a job run: per operator (summed over subtasks) records in and out,
// throughput of the sources, busy seconds per subtask thread, and dead letters by reason. Pure
// formatting.
#pragma once

#include <ostream>
#include <string>

namespace segflow {

class Executor;
class DeadLetterOutput;

void print_job_summary(std::ostream& out, const std::string& job, double seconds,
                       const Executor& executor, const DeadLetterOutput& dead_letters);

}  // namespace segflow
