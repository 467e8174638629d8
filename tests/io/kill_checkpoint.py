"""A kill at any moment of a checkpoint write leaves the previous checkpoint readable.

Starts tests/io/checkpoint_writer (a 64 x 200000 checkpoint, about 100 MB, rewritten in an endless
loop), SIGKILLs it at random moments and after every kill runs `checkpoint_writer --verify`,
which must find a complete checkpoint whose every value matches its recorded iteration. Kills
alternate between a random delay and "as soon as the temporary file appears, plus a random
delay", so that several land mid-write; at least one must (the temporary file exists at the kill).

usage: python3 kill_checkpoint.py WRITER WORKDIR [KILLS]   (env MPIEXEC: optional launcher;
CONCORD_KILL_SEED: fixed random delays). WORKDIR is emptied first and removed on success (the
writers' outputs stay there on failure).
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time


def launcher():
    mpiexec = os.environ.get("MPIEXEC")
    return [mpiexec, "-n", "1"] if mpiexec else []


def wait_for(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.005)
    raise SystemExit(f"FAIL: timed out after {timeout} s waiting for {what}")


def main():
    writer, workdir = sys.argv[1], sys.argv[2]
    kills = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    path = os.path.join(workdir, "ckpt.h5")
    tmp = path + ".tmp"
    seed = int(os.environ.get("CONCORD_KILL_SEED", time.time_ns() % 1000003))
    print(f"random delays from CONCORD_KILL_SEED={seed}", flush=True)
    rng = random.Random(seed)
    mid_write = 0
    last_iteration = 0
    for trial in range(kills):
        # A temporary file left by the previous kill stays: the writer must reuse it. A kill
        # counts as mid-write when this writer has touched the temporary file and not renamed it.
        stale = os.stat(tmp).st_mtime_ns if os.path.exists(tmp) else None

        def writing():
            try:
                return os.stat(tmp).st_mtime_ns != stale
            except FileNotFoundError:
                return False

        # The writer runs directly (MPI singleton) or under MPIEXEC; either way it is one process
        # group that we kill as a whole.
        with open(os.path.join(workdir, f"writer{trial}.log"), "w") as log:
            process = subprocess.Popen(launcher() + [writer, path], stdout=log, start_new_session=True)
        try:
            if trial == 0:
                wait_for(lambda: os.path.exists(path), 120, "the first checkpoint")
            if trial % 2 == 0:
                delay = rng.uniform(0.2, 3.0)
                time.sleep(delay)
            else:
                wait_for(writing, 120, "a write in progress")
                delay = rng.uniform(0.0, 0.1)
                time.sleep(delay)
        finally:
            landed = writing()
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        mid_write += landed
        verify = subprocess.run(launcher() + [writer, "--verify", path], capture_output=True, text=True)
        print(f"kill {trial + 1} ({'after ' if trial % 2 == 0 else 'a write started, then '}{delay:.3f} s): "
              f"{'mid-write' if landed else 'between writes'}; verify: "
              f"{(verify.stdout + verify.stderr).strip()}", flush=True)
        if verify.returncode != 0:
            raise SystemExit(f"FAIL: the checkpoint at {path} is not readable and consistent after kill {trial + 1}")
        iteration = int(verify.stdout.split()[2])
        if iteration < last_iteration:
            raise SystemExit(f"FAIL: the checkpoint went back from iteration {last_iteration} to {iteration}")
        last_iteration = iteration
    print(f"{mid_write} of {kills} kills landed mid-write (a temporary file existed)")
    if mid_write == 0:
        raise SystemExit("FAIL: no kill landed mid-write; the test proved nothing")
    shutil.rmtree(workdir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
