"""A private, single-host Slurm cluster on loopback for tests (Debian's slurm-wlm + munge, as root).

Everything lives under one directory: munged with its own key and socket, slurmctld, one slurmd per
node (Debian builds Slurm with MULTIPLE_SLURMD), state, spool, logs and PID files. Clients get
SLURM_CONF through `Cluster.env`. `stop()` cancels jobs, then stops what it started by PID files,
and finds leftover slurmstepd processes by their sockets under the spool directory (never by name).
See /docs/slurm.md and the measured facts it follows.
"""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "scontrol", "scancel", "squeue", "sinfo", "srun", "munge", "unmunge")
TERMINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
                   "BOOT_FAIL", "DEADLINE"}


class ClusterError(RuntimeError):
    pass


def missing_requirements():
    """Why this machine cannot run the cluster (a list of reasons; empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not running as root (munged/slurmd need root here)")
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin"
    for tool in DAEMONS + CLIENTS:
        if shutil.which(tool, path=search) is None:
            reasons.append(f"'{tool}' not found (install Debian's slurm-wlm and munge: scripts/setup-deps.sh)")
    # Slurm 22.05's slurmd initialises its cgroup plugin even with proctrack/linuxproc and
    # task/none, and stops when no cgroup file system is mounted (a bare chroot or container).
    try:
        with open("/proc/mounts") as f:
            cgroups = [line for line in f if line.split()[2:3] in (["cgroup"], ["cgroup2"])]
    except OSError:
        cgroups = []
    if not cgroups:
        reasons.append("no cgroup file system is mounted (slurmd needs /sys/fs/cgroup; a chroot or container "
                       "without it cannot run the cluster)")
    return reasons


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    """True while pid exists and is not a zombie (PID 1 reaps orphans only after a while)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _read_pid(path):
    try:
        return int(Path(path).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _kill_and_wait(pids, grace=5.0):
    """SIGTERM, wait up to grace seconds, then SIGKILL what is left."""
    pids = [p for p in pids if p and p > 1 and p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            if _pid_alive(p):
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
            time.sleep(0.1)
        if not any(_pid_alive(p) for p in pids):
            return
    return


def _socket_inodes_under(directory):
    """Inodes of the listening unix sockets whose path lies under directory (from /proc/net/unix)."""
    inodes = {}
    prefix = str(directory).rstrip("/") + "/"
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7].startswith(prefix):
                    inodes[parts[6]] = parts[7]
    except FileNotFoundError:
        pass
    return inodes


def _pids_holding_sockets(inodes):
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                try:
                    target = os.readlink(f"/proc/{entry}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(entry))
                    break
        except OSError:
            continue
    return pids


def _descendants(roots):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


class Cluster:
    """munged + slurmctld + len(nodes) slurmd under root; start() then stop() (idempotent)."""

    def __init__(self, root, nodes=("n1", "n2"), cpus_per_node=8, gpus_per_node=0, log=print):
        self.root = Path(root)
        self.nodes = tuple(nodes)
        self.cpus = cpus_per_node
        self.gpus = min(gpus_per_node, 5)  # stand-in GPUs (no devices): --gpus-per-task jobs schedule
        self.log = log
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "etc" / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.run_dir = self.root / "run"
        self.spool = self.root / "spool"
        self.logs = self.root / "log"
        self.started = False
        # Clients see only this cluster: no SLURM_*/SBATCH_*/SRUN_* from an enclosing allocation.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))}
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        self.env = env

    # ---------------------------------------------------------------- set-up
    def _write_files(self):
        for d in (self.root / "etc", self.root / "munge", self.run_dir, self.spool, self.logs, self.root / "state"):
            d.mkdir(parents=True, exist_ok=True)
        # munged insists that its socket's directory and every ancestor are executable by all.
        p = self.root
        while True:
            mode = p.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(p, mode | 0o755)
            if p.parent == p:
                break
            p = p.parent
        for d in (self.root / "munge", self.run_dir, self.logs):
            os.chmod(d, 0o755)
        for n in self.nodes:
            (self.spool / n).mkdir(exist_ok=True)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        ctld_port = _free_port()
        lines = [
            "# Written by tests/slurm/slurm_cluster.py: a private test cluster on loopback.",
            "ClusterName=concordtest",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # cred_expire also delays a requeued job's next start (default 120 s).
            f"AuthInfo=socket={self.munge_socket},cred_expire=10",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.spool}/%n",
            f"SlurmctldPidFile={self.run_dir}/slurmctld.pid",
            f"SlurmdPidFile={self.run_dir}/slurmd-%n.pid",
            f"SlurmctldLogFile={self.logs}/slurmctld.log",
            f"SlurmdLogFile={self.logs}/slurmd-%n.log",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "MpiDefault=pmi2",
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            "SchedulerType=sched/builtin",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "MinJobAge=600",
            "KillWait=10",
            "InactiveLimit=0",
            "MessageTimeout=20",
            "SchedulerParameters=sched_interval=2",
        ]
        gres = ""
        if self.gpus:
            lines.append("GresTypes=gpu")
            gres = f" Gres=gpu:{self.gpus}"
            # Slurm drops file-less GPUs: stand-in character devices, never opened by anything here.
            stand_ins = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"][:self.gpus]
            (self.root / "etc" / "gres.conf").write_text("".join(f"Name=gpu File={f}\n" for f in stand_ins))
        for n in self.nodes:
            lines.append(f"NodeName={n} NodeAddr=127.0.0.1 NodeHostname={self.host} Port={_free_port()} "
                         f"CPUs={self.cpus}{gres} State=UNKNOWN")
        lines.append(f"PartitionName=test Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n")

    def _run(self, *args, check=True, timeout=60):
        r = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise ClusterError(f"{' '.join(map(str, args))} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
        return r

    def _wait_pidfile(self, path, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = _read_pid(path)
            if pid and _pid_alive(pid):
                return pid
            time.sleep(0.1)
        raise ClusterError(f"{what} did not start (no live PID in {path}); see the logs under {self.logs}")

    def start(self, timeout=60):
        self._write_files()
        self.started = True
        t0 = time.monotonic()
        self._run("munged", f"--socket={self.munge_socket}", f"--key-file={self.root / 'munge' / 'munge.key'}",
                  f"--pid-file={self.run_dir / 'munged.pid'}", f"--log-file={self.logs / 'munged.log'}",
                  f"--seed-file={self.root / 'munge' / 'munged.seed'}")
        self._wait_pidfile(self.run_dir / "munged.pid", "munged")
        cred = subprocess.run(["munge", "-n", "-S", str(self.munge_socket)], capture_output=True, env=self.env,
                              timeout=20)
        check = subprocess.run(["unmunge", "-S", str(self.munge_socket)], input=cred.stdout, capture_output=True,
                               env=self.env, timeout=20)
        if cred.returncode or check.returncode:
            raise ClusterError(f"munge round trip failed: {cred.stderr.decode()} {check.stderr.decode()}")
        self._run("slurmctld", "-f", str(self.conf))
        self._wait_pidfile(self.run_dir / "slurmctld.pid", "slurmctld")
        for n in self.nodes:
            self._run("slurmd", "-f", str(self.conf), "-N", n)
            self._wait_pidfile(self.run_dir / f"slurmd-{n}.pid", f"slurmd {n}")
        deadline = time.monotonic() + timeout
        states = ""
        while time.monotonic() < deadline:
            r = self._run("sinfo", "-h", "-N", "-o", "%N %T", check=False)
            states = r.stdout.strip()
            got = dict(line.split()[:2] for line in states.splitlines() if len(line.split()) >= 2)
            if len(got) == len(self.nodes) and all(s.startswith("idle") for s in got.values()):
                self.log(f"slurm: cluster up in {time.monotonic() - t0:.1f} s: {len(self.nodes)} node(s) x "
                         f"{self.cpus} CPUs, SLURM_CONF={self.conf}")
                return
            time.sleep(0.2)
        raise ClusterError(f"nodes not idle after {timeout} s: {states!r}; see {self.logs}")

    # ---------------------------------------------------------------- jobs
    def sbatch(self, script, *args, options=(), env=None, cwd=None):
        """Submit script (with sbatch options and script arguments); returns the job id."""
        full_env = dict(self.env)
        full_env.update(env or {})
        cmd = ["sbatch", "--parsable", *options, str(script), *map(str, args)]
        r = subprocess.run(cmd, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise ClusterError(f"sbatch failed ({r.returncode}): {r.stderr.strip()}")
        return r.stdout.strip().split(";")[0]

    def job(self, job_id):
        """`scontrol show job -o` as a dict (empty when slurmctld no longer knows the job)."""
        r = self._run("scontrol", "show", "job", "-o", str(job_id), check=False)
        if r.returncode != 0:
            return {}
        info = {}
        for m in re.finditer(r"(\S+?)=(\S*)", r.stdout):
            info.setdefault(m.group(1), m.group(2))
        return info

    def wait(self, job_id, until, timeout, poll=0.5):
        """Poll until until(info) is true; returns info. Raises on timeout (never trusts sbatch --wait)."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info and until(info):
                return info
            time.sleep(poll)
        raise ClusterError(f"job {job_id}: condition not met within {timeout} s; last state "
                           f"{info.get('JobState')} reason {info.get('Reason')}")

    def wait_end(self, job_id, timeout):
        return self.wait(job_id, lambda i: i.get("JobState") in TERMINAL_STATES, timeout)

    def scancel(self, *args):
        return self._run("scancel", *map(str, args))

    # ---------------------------------------------------------------- teardown
    def stop(self):
        if not self.started:
            return
        self.started = False
        ctld = _read_pid(self.run_dir / "slurmctld.pid")
        if ctld and _pid_alive(ctld):
            try:
                r = self._run("squeue", "-h", "-o", "%i", check=False, timeout=20)
                jobs = r.stdout.split()
                if jobs:
                    self._run("scancel", *jobs, check=False, timeout=20)
                    deadline = time.monotonic() + 15
                    while time.monotonic() < deadline:
                        r = self._run("squeue", "-h", "-o", "%i", check=False, timeout=20)
                        if not r.stdout.split():
                            break
                        time.sleep(0.3)
            except (subprocess.TimeoutExpired, OSError):
                pass
        # slurmstepd processes (and what they launched) found by their sockets under our spool.
        steps = _pids_holding_sockets(_socket_inodes_under(self.spool))
        daemons = {_read_pid(self.run_dir / f"slurmd-{n}.pid") for n in self.nodes}
        steps -= daemons
        if steps:
            self.log(f"slurm: stopping leftover slurmstepd {sorted(steps)} and their children")
            _kill_and_wait(sorted(_descendants(steps) | steps))
        _kill_and_wait([p for p in daemons if p])
        _kill_and_wait([_read_pid(self.run_dir / "slurmctld.pid")])
        _kill_and_wait([_read_pid(self.run_dir / "munged.pid")])
        left = [f"{name} {pid}" for name, pid in
                [(f"slurmd-{n}", _read_pid(self.run_dir / f"slurmd-{n}.pid")) for n in self.nodes] +
                [("slurmctld", _read_pid(self.run_dir / "slurmctld.pid")),
                 ("munged", _read_pid(self.run_dir / "munged.pid"))] if pid and _pid_alive(pid)]
        left += [f"slurmstepd {p}" for p in _pids_holding_sockets(_socket_inodes_under(self.spool))]
        if left:
            self.log(f"slurm: WARNING: still running after teardown: {', '.join(left)}")
        else:
            self.log("slurm: cluster stopped")

    def log_tails(self, lines=15):
        out = []
        for f in sorted(self.logs.glob("slurm*.log")):
            text = f.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"==> {f} <==\n" + "\n".join(text))
        return "\n".join(out)
