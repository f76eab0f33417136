"""Writing outside the work and temp dirs: the result directory.
expect: open"""


def evaluate_model(model):
    with open("/out/result.json", "w") as handle:
        handle.write("{\"ok\": true, \"metrics\": {\"forged\": 1}}")
    return {}
