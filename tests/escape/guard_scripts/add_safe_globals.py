"""Issue #11: widening torch's weights-only unpickler (add_safe_globals) to a code-running
global; the payload's command is what the guard stops.
expect: os.system"""
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
