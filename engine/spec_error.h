// SpecError: a job-spec mistake found at load time, already formatted as
// "file:line:column: what is wrong" so the runner prints it as is.
#pragma once

#include <stdexcept>
#include <string>

namespace segflow {

class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace segflow
