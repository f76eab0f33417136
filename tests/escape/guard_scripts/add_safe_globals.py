"""Issue #11: widening torch's weights-only unpickler (add_safe_globals) to a code-running
global; the unpickler calls `eval` on the payload as a trampoline (it does not name it), so
the guard stops the compile, before the command runs.
expect: compile"""
import pickle

import torch


class Payload:
    def __reduce__(self):
        return (eval, ("__import__('os').system('id')",))


def evaluate_model(model):
    torch.serialization.add_safe_globals([eval])
    with open("payload.pt", "wb") as handle:
        pickle.dump(Payload(), handle, protocol=2)
    torch.load("payload.pt", weights_only=True)
    return {}
