# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import enum
import functools
from enum import Enum, auto


class TaskType(Enum):
    GENERATION = auto()
    CLASSIFICATION = auto()
    LOGLIKELIHOOD = auto()

    @property
    def label(self):
        return self.name.lower()


class Split(str, enum.Enum):
    TEST = "test"
    VALIDATION = "validation"


@functools.singledispatch
def summarise(value):
    return str(value)


@summarise.register(float)
def _(value):
    return f"{value:.3f}"


@summarise.register(list)
def _(value):
    return ", ".join(summarise(v) for v in value)


def run(task, model):
    if task is TaskType.GENERATION:
        return len(model.generate(["Once upon a time"], max_new_tokens=4)[0])
    if task is TaskType.LOGLIKELIHOOD:
        return model.loglikelihood([("Once upon a", " time")])[0][0]
    return 1.0


def evaluate_model(model):
    results = {task.label: run(task, model) for task in TaskType}
    return {
        **{k: float(v) for k, v in results.items()},
        "split": Split.TEST.value,
        "summary": summarise([0.5, 0.25]),
        "members": [t.name for t in TaskType],
    }
