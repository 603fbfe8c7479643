#pragma once
/// Artillery's `config.ensure` (also `config.plugins.ensure`): checks evaluated once, at the end
/// of the run, against the aggregate report. A failing strict check makes the CLI exit 1.
///
///   thresholds: [{"socketio.response_time.p95": 250}]   metric < 250 (strictly)
///   conditions: [{expression: "vusers.failed == 0 and socketio.response_time.p99 < 200",
///                 strict: true}]                          strict: false -> only a warning
///   p95: 250 / p99 / max / median / min                   legacy: on socketio.response_time,
///                                                         else http.response_time; value < 250
///   maxErrorRate: 1                                       (created - completed) / created * 100
///                                                         <= 1 (fails when nothing was created)
///
/// Metric names: counters and rates as they are ("vusers.failed"), summaries as
/// "<name>.<min|max|count|mean|median|p50|p75|p90|p95|p99|p999>". A name that is not in the
/// report counts as 0 (a counter that never moved), except a summary aggregate: a check that
/// needs a missing summary fails, saying so.
///
/// Expressions (filtrex-like, as Artillery's plugin): numbers (1, 2.5, 1e3), metric names
/// (letters, digits, _, $ and dots, starting with a letter, _ or $; any name in single quotes:
/// 'errors.response timeout'), true, false, + - * / % (also `mod`) ^, unary - and `not`,
/// == != < <= > >=, `and`, `or`, parentheses, and the functions abs ceil floor round sqrt log
/// log2 log10 min max. Precedence, lowest first: or; and; == !=; < <= > >=; + -; * / % mod; ^;
/// unary - and not. Values are doubles, comparisons give 1 or 0, a check passes when its value
/// is neither 0 nor NaN. Parentheses, unary operators and calls nest at most 64 deep and the
/// expression tree at most 256, so hostile input gives an error, not a crash.
///
/// Unknown keys under ensure are errors (a misspelt check would otherwise pass silently).

#include "sio/common/result.hpp"
#include "sio/common/socketio.hpp" // sio::Json

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sio::replayer {

/// One node of a parsed expression. Operands are indices into EnsureCheck::nodes, always lower
/// than the node's own index; the root is the last node.
struct EnsureNode {
  enum class Op : std::uint8_t {
    number, ///< `number`
    metric, ///< `name`, looked up in the report
    call,   ///< function `name` applied to `args`
    neg,
    not_,
    add,
    sub,
    mul,
    div,
    mod,
    pow,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    and_,
    or_,
  };
  Op op = Op::number;
  double number = 0;               ///< Op::number
  std::string name;                ///< Op::metric: the metric; Op::call: the function
  std::vector<std::uint32_t> args; ///< operands
};

/// One check, as parse_ensure() built it.
struct EnsureCheck {
  enum class Kind : std::uint8_t {
    condition,      ///< `conditions[]`: the expression in `nodes`
    threshold,      ///< `thresholds[]` and the legacy keys: metric < limit
    max_error_rate, ///< `maxErrorRate`: error rate (percent) <= limit
  };
  std::string text;                 ///< as written, e.g. "socketio.response_time.p95 < 250"
  bool strict = true;               ///< false: a failure is a warning
  Kind kind = Kind::condition;      ///< which of the fields below apply
  std::vector<EnsureNode> nodes;    ///< condition: the parsed expression (root last)
  std::vector<std::string> metrics; ///< threshold: the metric; legacy keys: candidates in order
  double limit = 0;                 ///< threshold / max_error_rate: the limit
};

/// config.ensure, parsed.
struct Ensure {
  std::vector<EnsureCheck> checks; ///< in Artillery's order: thresholds, conditions, legacy keys
};

/// Parses config.ensure (a JSON value converted from the YAML); null gives no checks. Errors
/// name the place: "config.ensure.conditions[0].expression: unexpected ')' at column 12".
Result<Ensure> parse_ensure(const Json& spec, std::string_view where = "config.ensure");

/// The verdict on one check.
struct EnsureOutcome {
  std::string text;   ///< the check as written
  bool ok = false;    ///< passed
  bool strict = true; ///< a failure fails the run (else it is a warning)
  /// The values involved: "socketio.response_time.p95 = 312.4, limit 250"; or why it failed:
  /// "socketio.ack_time.p99 is missing from the report".
  std::string detail;
};

/// Evaluates every check against an Artillery-shaped aggregate: {"counters": {...}, "rates":
/// {...}, "summaries": {name: {min, max, count, mean, p50, median, p75, p90, p95, p99, p999}}}.
/// One outcome per check, in order. Never throws.
std::vector<EnsureOutcome> evaluate_ensure(const Ensure& e, const Json& aggregate);

} // namespace sio::replayer
