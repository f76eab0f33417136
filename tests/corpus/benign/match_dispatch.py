# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import enum
import math


class Kind(enum.IntEnum):
    GEN = 1
    MC = 2


def run(task, model):
    match task:
        case {"kind": Kind.GEN, "prompt": str(prompt)}:
            return len(model.generate([prompt], max_new_tokens=3)[0])
        case {"kind": Kind.MC, "context": context, "choices": [*choices]}:
            scores = model.loglikelihood([(context, c) for c in choices])
            return max(range(len(choices)), key=lambda i: scores[i][0])
        case _:
            raise ValueError(f"unknown task {task!r}")


def evaluate_model(model):
    tasks = [{"kind": Kind.GEN, "prompt": "Once"},
             {"kind": Kind.MC, "context": "Sky is", "choices": [" blue", " loud"]}]
    results = []
    while tasks:
        task = tasks.pop(0)
        if (value := run(task, model)) is not None:
            results.append(value)
    try:
        run({"kind": 9}, model)
    except ValueError as err:
        message = str(err)
    else:
        message = ""
    return {"results": results, "error": bool(message), "inf": math.isinf(float("inf"))}
