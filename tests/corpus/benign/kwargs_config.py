# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
class EvalConfig:
    """A plain config object, in the style of many evaluation repositories."""

    def __init__(self, **kwargs):
        self.max_new_tokens = 8
        self.temperature = 0.0
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __repr__(self):
        return f"EvalConfig(max_new_tokens={self.max_new_tokens}, temperature={self.temperature})"


class Record:
    def __init__(self, **fields):
        for name in fields:
            setattr(self, name, fields[name])


def evaluate_model(model):
    config = EvalConfig(max_new_tokens=4, stop="\n")
    record = Record(prompt="2 + 2 =", answer="4")
    out = model.generate([record.prompt], max_new_tokens=config.max_new_tokens)[0]
    print(repr(config))
    return {"correct": float(record.answer in out), "stop": config.stop}
