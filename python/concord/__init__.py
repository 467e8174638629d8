"""Concord's output files in Python: trajectories and checkpoints as numpy arrays with their deck
and metadata, studies' tables, the plots of `concord plot` (concord.plot), the scaling studies of
`concord study` (concord.study) and their alpha-beta model (concord.cost).

    import concord
    t = concord.read_trajectory("run.h5")
    t["columns"]["loss"], t["iteration"], t["deck"], t["attrs"]["algorithm"]
    c = concord.read_checkpoint("run.checkpoint.h5")
    c["state"]["x"], c["iteration"], c["records"]["loss"]
    s = concord.read_study("study/results.h5")       # a `concord study` table
    s["columns"]["ranks"], s["columns"]["efficiency"], s["attrs"]["mode"]

Needs numpy and h5py (Debian's python3-numpy, python3-h5py); plotting needs matplotlib. This
package is the one reader of Concord's HDF5 files in Python: the validation suite and the tests use
it too.
"""
__all__ = ["read_trajectory", "read_checkpoint", "read_study", "trajectory_columns"]


def missing_dependency(command, error, packages, debian):
    """What a command says when a module it needs is missing: one line, exit status 1."""
    import sys
    print(f"concord: error: {command}: {error}; concord {command} needs {packages} (Debian: apt install {debian}), "
          "or CONCORD_PYTHON set to a Python that has them", file=sys.stderr)
    sys.exit(1)


def __getattr__(name):
    # Imported on first use, so that `concord plot` can say what is missing (numpy, h5py) in one line.
    if name in __all__:
        from concord import files
        return getattr(files, name)
    raise AttributeError(f"module 'concord' has no attribute '{name}'")
