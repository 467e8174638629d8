// `concord plot` and `concord study`: commands of the Python package shipped with Concord
// (python/concord, installed under share/concord/python). Each finds the package and runs
// `python3 -m concord.<command>` with the arguments as given; the Python command finds this
// executable in CONCORD_EXECUTABLE.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"

extern char** environ;

namespace concord::app {
namespace {

/// The Python command's process: SIGTERM to this process is passed on to it.
volatile pid_t g_child = 0;
extern "C" void forward_signal(int signo) {
  if (g_child > 0) kill(g_child, signo);
}

/// The directory holding the `concord` Python package: $CONCORD_PYTHONPATH, else the installed
/// one next to this executable (bin/../share/concord/python), else the source tree's.
std::string python_package_dir() {
  if (const char* env = std::getenv("CONCORD_PYTHONPATH")) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "concord" / "python";
    if (std::filesystem::exists(installed / "concord" / "plot.py")) return installed.string();
  }
  return CONCORD_PYTHON_SOURCE_DIR;
}

}  // namespace

/// `concord NAME ARGS...` runs `python3 -m concord.NAME ARGS...`.
Command add_python_command(CLI::App& app, const std::string& name, const std::string& description) {
  auto* cmd = app.add_subcommand(name, description);
  cmd->prefix_command();  // every argument goes to the Python command, --help included
  cmd->set_help_flag();
  return [cmd, name] {
    // Debian's interpreter, for which python3-h5py and python3-matplotlib are installed, unless told.
    const char* interpreter = std::getenv("CONCORD_PYTHON") != nullptr      ? std::getenv("CONCORD_PYTHON")
                              : std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3"
                                                                            : "python3";
    std::vector<std::string> args = {interpreter, "-m", "concord." + name};
    for (const auto& a : cmd->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The package directory ahead of any PYTHONPATH the caller has.
    std::string path = python_package_dir();
    if (const char* old = std::getenv("PYTHONPATH"); old != nullptr && *old != '\0') path += std::string(":") + old;
    setenv("PYTHONPATH", path.c_str(), 1);
    std::error_code ec;
    if (const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec); !ec)
      setenv("CONCORD_EXECUTABLE", exe.c_str(), 1);
    std::fflush(stdout);
    pid_t child = 0;
    if (const int e = posix_spawnp(&child, interpreter, nullptr, nullptr, argv.data(), environ); e != 0) {
      std::fprintf(stderr, "concord: error: %s: cannot run %s (%s); concord %s needs Python 3 with numpy, h5py, PyYAML and "
                           "matplotlib (Debian: python3-h5py python3-yaml python3-matplotlib), or CONCORD_PYTHON set to one\n",
                   name.c_str(), interpreter, std::strerror(e), name.c_str());
      return 1;
    }
    // Until it ends: Ctrl-C reaches it from the terminal (same process group) and SIGTERM is passed
    // on, so that a study can let its running cell write its checkpoint and say how to go on.
    g_child = child;
    struct sigaction forward {}, ignore {}, old_term {}, old_int {};
    forward.sa_handler = forward_signal;
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &forward, &old_term);
    sigaction(SIGINT, &ignore, &old_int);
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
    }
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGINT, &old_int, nullptr);
    g_child = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  };
}

}  // namespace concord::app
