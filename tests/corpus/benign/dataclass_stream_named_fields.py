# source: evalpod own (static-validator follow-up 3: dataclass fields named like stream attributes stay the script's own)
# expect: accept
import dataclasses
from dataclasses import dataclass, field


@dataclass
class Batch:
    buffer: list = field(default_factory=list)
    stream: str = "main"
    raw: float = 0.0


def evaluate_model(model):
    b = Batch()
    b.buffer.append(1.0)
    names = [f.name for f in dataclasses.fields(b)]
    kwargs = {"stream": "x"}
    c = Batch(**kwargs)
    return {"n": float(len(b.buffer)), "r": b.raw, "s": float(len(c.stream))}
