# source: PyCQA/bandit examples/subprocess_shell.py (B602/B404)
# expect: EP102
import subprocess


def evaluate_model(model):
    subprocess.Popen("/bin/ls -l", shell=True)
    return {}
