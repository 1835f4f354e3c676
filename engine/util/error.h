#pragma once
// The one exception type the engine throws for bad input. Its message is a single line a user can
// act on: where (file, field or JSON path, line) and why. Front ends print what() and exit with 2.
#include <stdexcept>
#include <string>

namespace hy3 {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "where: reason", skipping an empty "where".
inline std::string describe(const std::string& where, const std::string& reason) {
    return where.empty() ? reason : where + ": " + reason;
}

[[noreturn]] inline void fail(const std::string& where, const std::string& reason) {
    throw Error(describe(where, reason));
}

}  // namespace hy3
