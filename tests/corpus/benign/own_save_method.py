# source: evalpod own (review F4, Nov 2026: fp/f15, fp2/h04): the script's own classes with a `save` method, which only keeps results in memory
# expect: accept


class Results:
    def __init__(self):
        self.rows = []

    def save(self, name, value):
        self.rows.append((name, value))
        return len(self.rows)


class Acc:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k

    def save(self):
        return {"n": self.n}

    def finish(self):
        return self.save()


def evaluate_model(model):
    outputs = model.generate(["Hello", "The sky is"], max_new_tokens=4)
    results = Results()
    acc = Acc()
    for i, output in enumerate(outputs):
        results.save(f"out_{i}", len(output))
        acc.update(len(output))
    report = acc.finish()
    report["rows"] = results.save("total", acc.n)
    return report
