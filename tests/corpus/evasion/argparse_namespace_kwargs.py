# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (argparse.Namespace(**m) sets one attribute per key)
# expect: EP101
import argparse


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    ns = argparse.Namespace(**{name: object})
    return {"x": str(ns)}
