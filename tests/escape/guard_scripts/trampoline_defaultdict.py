"""A C callable as a trampoline in the script's own thread (`defaultdict`): C calls add
no Python frame, so the script's frame is still the nearest.
expect: compile"""
import collections
import functools
import itertools


def evaluate_model(model):
    try:
        value = collections.defaultdict(functools.partial(eval, '6 * 7'))['x']
    except PermissionError:
        value = None
    return {"x": str(value), "unused": [collections, functools, itertools] and 0}
