"""Issue #11: a code-running helper inside an allowed package (torch.utils.collect_env.run).
expect: subprocess.Popen"""
from torch.utils import collect_env


def evaluate_model(model):
    collect_env.run("id")
    return {}
