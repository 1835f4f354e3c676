#pragma once
// Chat templates: the Jinja subset that real chat templates use, rendered exactly as transformers'
// apply_chat_template renders them with Python's Jinja2 (the tests compare the two): if/elif/else,
// for with loop variables and else, set (also ns.attr and set blocks), namespace, macros,
// break/continue, filters, string and dict methods, tests, comparisons, arithmetic, slicing,
// whitespace control and raise_exception. Anything else is refused with the line it is on.
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hy3::jinja {

// What a template's raise_exception("...") throws (its message is the template's own).
class RaisedException : public Error {
public:
    using Error::Error;
};

struct Stmt;

class Template {
public:
    // Parses `source`; `name` (a file name) prefixes errors: "<name>:<line>: <reason>".
    Template(const std::string& source, std::string name);
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    // Renders with the given variables (messages, tools, add_generation_prompt, bos_token, ...).
    // Throws hy3::Error naming the template line; raise_exception(msg) gives msg.
    std::string render(const nlohmann::json& context) const;
    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace hy3::jinja
