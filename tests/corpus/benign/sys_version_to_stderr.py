# source: evalpod security review false positive (Nov 2026): print(sys.version, file=sys.stderr)
# expect: accept
import sys


def evaluate_model(model):
    eps = sys.float_info.epsilon
    big = sys.maxsize
    print("python", sys.version_info.major, sys.version_info.minor, file=sys.stderr)
    print(sys.version, file=sys.stderr)
    return {"eps": eps, "big": big > 0}
