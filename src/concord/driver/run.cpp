// driver::run: one run session's parts in order (detail/session.hpp has the session, detail/support.hpp
// its pieces).
#include "concord/driver/run.hpp"

#include "concord/core/text.hpp"
#include "concord/driver/detail/session.hpp"

namespace concord::driver {

std::string continue_command(const RunOptions& options, const std::string& checkpoint) {
  std::string command = "concord run " + shell_quote(options.deck);
  for (const auto& assignment : options.overrides) command += " --set " + shell_quote(assignment);
  return command + " --restart " + shell_quote(checkpoint);
}

int run(const RunOptions& options, MPI_Comm comm) {
  detail::RunSession session(options, comm);  // throws InputError before any work
  if (options.check_only) return session.report_valid();
  session.build();
  session.print_header();
  session.restore_or_initialize();
  session.open_trajectory();
  return session.iterate();
}

}  // namespace concord::driver
